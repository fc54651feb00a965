# Predictions -> metrics -> the dataset's tables.


# The other-query control (README, "Controls"): the test queries with another moment's words,
# predicted by the same predict code and scored against their own ground truth.
OTHER_QUERY = "results/{dataset}/controls/other_query.jsonl"


rule other_query_samples:
    input:
        "results/{dataset}/text/test.jsonl",
    output:
        samples=OTHER_QUERY,
        report="results/{dataset}/controls/other_query.report.json",
    log:
        "logs/{dataset}/other_query.log",
    conda:
        "../../envs/wsmr.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        tracking=tracking_uri,
    shell:
        wsmr(
            "other-query --dataset {wildcards.dataset}"
            " --samples {input} --out {output.samples} --report {output.report}"
        )


rule evaluate:
    input:
        unpack(lambda w: features_input(w, [w.method])),
        predictions=f"{RUN}/predictions.jsonl",
        samples=lambda w: samples(w.dataset, "test"),
    output:
        metrics=f"{RUN}/metrics.json",
    log:
        "logs/{dataset}/evaluate/{method}/{variant}/seed{seed}.log",
    wildcard_constraints:
        method=BLIND_METHODS,
    conda:
        "../../envs/wsmr.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        tracking=tracking_uri,
        job=job_settings,
        features=features_arg,
        control=control_args,
    shell:
        wsmr(
            "evaluate --job {params.job:q} --seed {wildcards.seed}"
            " --samples {input.samples} --predictions {input.predictions} {params.features}"
            " {params.control} --out {output.metrics}"
        )


use rule evaluate as evaluate_with_control with:
    input:
        unpack(lambda w: features_input(w, [w.method])),
        predictions=f"{RUN}/predictions.jsonl",
        samples=lambda w: samples(w.dataset, "test"),
        control_predictions=f"{RUN}/predictions.other_query.jsonl",
        control_samples=OTHER_QUERY,
    output:
        metrics=f"{RUN}/metrics.json",
        control_metrics=f"{RUN}/metrics.other_query.json",
    wildcard_constraints:
        method=QUERY_READERS,


rule table:
    """A dataset's table: every configured row (`{dataset}.csv`), the main job's headline rows
    (`{dataset}.headline.csv`), the rows that need no video (`{dataset}.baselines.csv`:
    Random and prior, from the annotation files alone), or one method's variants beside
    those (`{dataset}.cpl.csv`)."""
    input:
        unpack(lambda w: features_input(w, [m for m, _ in table_rows(w)])),
        metrics=lambda w: table_metrics(w.dataset, table_rows(w)),
        controls=lambda w: table_control_metrics(w.dataset, table_rows(w)),
    output:
        csv=report(
            "results/tables/{dataset}{rows}.csv",
            caption="../report/table.rst",
            category="{dataset}",
            subcategory="tables",
            labels={"table": "{dataset}{rows}"},
        ),
        md="results/tables/{dataset}{rows}.md",
    log:
        "logs/{dataset}/table{rows}.log",
    wildcard_constraints:
        rows=TABLE_NAMES,
    conda:
        "../../envs/wsmr.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        tracking=tracking_uri,
        ious=lambda w: json.dumps(dataset_config(w)["ious"]),
        notes=table_notes,
        features=features_arg,
    shell:
        wsmr(
            "table --dataset {wildcards.dataset}"
            " --ious {params.ious:q} --metrics {input.metrics} --control-metrics {input.controls}"
            " {params.notes} {params.features} --out-csv {output.csv} --out-md {output.md}"
        )
