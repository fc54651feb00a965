# Raw annotations (or the rendered shapes dataset) -> the samples contract.


rule shapes:
    output:
        annotations=list(GENERATED_FILES["annotations"].values()),
        durations=GENERATED_FILES["durations"][0],
        tags=GENERATED_FILES["tags"],
        events=EVENTS,
        videos=directory(GENERATED_FILES["videos"]),
    log:
        "logs/{dataset}/shapes.log",
    wildcard_constraints:
        dataset="|".join(GENERATED) or "(?!)",
    conda:
        "../../envs/wsmr.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=20,
    params:
        tracking=tracking_uri,
        generator=lambda w: json.dumps(config["datasets"][w.dataset]["generator"]),
        annotations=lambda w, output: " ".join(split_pairs(SPLITS, output.annotations)),
    shell:
        wsmr(
            "shapes --dataset {wildcards.dataset}"
            " --generator {params.generator:q} --annotations {params.annotations}"
            " --durations {output.durations} --tags {output.tags} --events {output.events}"
            " --videos {output.videos}"
        )


rule samples:
    input:
        unpack(annotation_inputs),
    output:
        splits=expand("results/{{dataset}}/samples/{split}.jsonl", split=SPLITS),
        report="results/{dataset}/samples/report.json",
    log:
        "logs/{dataset}/samples.log",
    conda:
        "../../envs/wsmr.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        tracking=tracking_uri,
        dataset_config=lambda w: json.dumps(wcfg.reader_config(dataset_config(w))),
        files=annotation_args,
    shell:
        wsmr(
            "samples --dataset {wildcards.dataset}"
            " --dataset-config {params.dataset_config:q} {params.files}"
            " --out {output.splits} --report {output.report}"
        )
