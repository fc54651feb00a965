# Predictions -> metrics -> the dataset's tables.


rule evaluate:
    input:
        predictions=f"{RUN}/predictions.jsonl",
        samples=lambda w: samples(w.dataset, "test"),
    output:
        f"{RUN}/metrics.json",
    params:
        job=job_settings,
    log:
        "logs/{dataset}/evaluate/{method}/{variant}/seed{seed}.log",
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    shell:
        "wsmr --tracking {TRACKING:q} evaluate --job {params.job:q} --seed {wildcards.seed}"
        " --samples {input.samples} --predictions {input.predictions} --out {output} 2> {log}"


TABLE_SHELL = (
    "wsmr --tracking {TRACKING:q} table --dataset {wildcards.dataset}"
    " --ious {params.ious:q} --metrics {input} {params.notes}"
    " --out-csv {output.csv} --out-md {output.md} 2> {log}"
)


rule table:
    """Every configured method/variant: the complete table."""
    input:
        lambda w: table_metrics(w.dataset, wcfg.method_variants(config)),
    output:
        csv="results/tables/{dataset}.csv",
        md="results/tables/{dataset}.md",
    params:
        ious=lambda w: json.dumps(dataset_config(w)["ious"]),
        notes=table_notes,
    log:
        "logs/{dataset}/table.log",
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    shell:
        TABLE_SHELL


rule headline_table:
    """The headline rows only: the README's main job."""
    input:
        lambda w: table_metrics(w.dataset, wcfg.headline_variants(config)),
    output:
        csv="results/tables/{dataset}.headline.csv",
        md="results/tables/{dataset}.headline.md",
    params:
        ious=lambda w: json.dumps(dataset_config(w)["ious"]),
        notes=table_notes,
    log:
        "logs/{dataset}/table.headline.log",
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    shell:
        TABLE_SHELL
