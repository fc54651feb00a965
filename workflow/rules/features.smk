# Raw videos -> C3D fc7 (sharded) -> PCA fit on the training split -> the features contract;
# or a pre-extracted HDF5 file checked into the same contract. Then a probe of what they carry.


rule c3d_weights:
    """Sports-1M C3D weights configured under resources/c3d/, from features.weights.url,
    checked against features.weights.sha256. A path elsewhere is a file you supply."""
    output:
        "resources/c3d/{name}",
    log:
        "logs/resources/c3d_{name}.log",
    conda:
        "../../envs/wsmr.yaml"
    resources:
        runtime=60,
    params:
        url=lambda w: c3d_weights(w)["url"],
        sha256=lambda w: c3d_weights(w)["sha256"],
    shell:
        "wsmr fetch --url {params.url:q} --out {output} --sha256 {params.sha256} 2> {log}"


rule extract_fc7:
    """One shard of the videos (every n-th of the sorted ids) through C3D: fc7 per clip."""
    input:
        unpack(extract_inputs),
    output:
        "results/{dataset}/features/fc7/shard{shard}.h5",
    log:
        "logs/{dataset}/features/extract_shard{shard}.log",
    benchmark:
        "results/{dataset}/benchmarks/extract_shard{shard}.tsv"
    wildcard_constraints:
        dataset=one_of(EXTRACTED),
        shard=r"\d+",
    conda:
        "../../envs/wsmr.yaml"
    threads: shard_threads  # on a GPU they all decode (wsmr.video.extract); on CPU, run C3D
    resources:
        mem_mb=extract_mem_mb,
        runtime=600,
    params:
        tracking=tracking_uri,
        settings=lambda w: json.dumps(wcfg.extraction_settings(dataset_config(w))),
        shards=lambda w: features_config(w)["shards"],
        videos=videos_dir,
    shell:
        wsmr(
            "extract --dataset {wildcards.dataset}"
            " --settings {params.settings:q} --splits {input.samples}"
            " --videos {params.videos:q} --shard {wildcards.shard} --shards {params.shards}"
            " --threads {threads} --out {output}"
        )


rule pca_features:
    """PCA fit on the training videos' clips only, applied to every video."""
    input:
        fc7=fc7_shards,
        samples=lambda w: [samples(w.dataset, split) for split in SPLITS],
    output:
        features=FEATURES,
        plot=report(
            "results/{dataset}/features/pca_explained_variance.png",
            caption="../report/pca.rst",
            category="{dataset}",
            subcategory="features",
            labels={"figure": "PCA explained variance"},
        ),
        report="results/{dataset}/features/report.json",
        pca="results/{dataset}/features/pca.h5",
    log:
        "logs/{dataset}/features/pca.log",
    benchmark:
        "results/{dataset}/benchmarks/pca.tsv"
    wildcard_constraints:
        dataset=one_of(EXTRACTED),
    conda:
        "../../envs/wsmr.yaml"
    threads: 1
    resources:
        mem_mb=8000,
        runtime=120,
    params:
        tracking=tracking_uri,
        dim=lambda w: features_config(w)["pca_dim"],
    shell:
        wsmr(
            "pca --dataset {wildcards.dataset}"
            " --splits {input.samples} --fc7 {input.fc7} --dim {params.dim}"
            " --out {output.features} --plot {output.plot} --report {output.report}"
            " --pca {output.pca}"
        )


rule import_features:
    """A pre-extracted file (e.g. ActivityNet's sub_activitynet_v1-3.c3d.hdf5), checked."""
    input:
        features=lambda w: features_config(w)["path"],
        samples=lambda w: [samples(w.dataset, split) for split in SPLITS],
    output:
        features=FEATURES,
        report="results/{dataset}/features/report.json",
    log:
        "logs/{dataset}/features/import.log",
    wildcard_constraints:
        dataset=one_of(IMPORTED),
    conda:
        "../../envs/wsmr.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=60,
    params:
        tracking=tracking_uri,
        settings=lambda w: json.dumps(features_config(w)),
    shell:
        wsmr(
            "import-features --dataset {wildcards.dataset}"
            " --settings {params.settings:q} --splits {input.samples}"
            " --out {output.features} --report {output.report}"
        )


rule features_probe:
    """Linear probes of a generated dataset's clip features against its event records."""
    input:
        features=FEATURES,
        events=EVENTS,
    output:
        "results/{dataset}/features/probe.json",
    log:
        "logs/{dataset}/features/probe.log",
    wildcard_constraints:
        dataset=one_of(GENERATED),
    conda:
        "../../envs/wsmr.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=20,
    params:
        tracking=tracking_uri,
    shell:
        wsmr(
            "probe --dataset {wildcards.dataset}"
            " --features {input.features} --events {input.events} --out {output}"
        )
