# Predictions -> metrics -> the dataset's tables.


rule evaluate:
    input:
        unpack(lambda w: features_input(w, [w.method])),
        predictions=f"{RUN}/predictions.jsonl",
        samples=lambda w: samples(w.dataset, "test"),
    output:
        f"{RUN}/metrics.json",
    params:
        job=job_settings,
        features=features_arg,
    log:
        "logs/{dataset}/evaluate/{method}/{variant}/seed{seed}.log",
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    shell:
        "wsmr --tracking {TRACKING:q} evaluate --job {params.job:q} --seed {wildcards.seed}"
        " --samples {input.samples} --predictions {input.predictions} {params.features}"
        " --out {output} 2> {log}"


TABLE_SHELL = (
    "wsmr --tracking {TRACKING:q} table --dataset {wildcards.dataset}"
    " --ious {params.ious:q} --metrics {input.metrics} {params.notes} {params.features}"
    " --out-csv {output.csv} --out-md {output.md} 2> {log}"
)


rule table:
    """Every configured method/variant: the complete table."""
    input:
        unpack(lambda w: features_input(w, [m for m, _ in wcfg.method_variants(config)])),
        metrics=lambda w: table_metrics(w.dataset, wcfg.method_variants(config)),
    output:
        csv=report("results/tables/{dataset}.csv", caption="../report/table.rst",
                   category="{dataset}", subcategory="tables", labels={"table": "complete"}),
        md="results/tables/{dataset}.md",
    params:
        ious=lambda w: json.dumps(dataset_config(w)["ious"]),
        notes=table_notes,
        features=features_arg,
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
        unpack(lambda w: features_input(w, [m for m, _ in wcfg.headline_variants(config)])),
        metrics=lambda w: table_metrics(w.dataset, wcfg.headline_variants(config)),
    output:
        csv=report("results/tables/{dataset}.headline.csv", caption="../report/table.rst",
                   category="{dataset}", subcategory="tables", labels={"table": "headline"}),
        md="results/tables/{dataset}.headline.md",
    params:
        ious=lambda w: json.dumps(dataset_config(w)["ious"]),
        notes=table_notes,
        features=features_arg,
    log:
        "logs/{dataset}/table.headline.log",
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    shell:
        TABLE_SHELL
