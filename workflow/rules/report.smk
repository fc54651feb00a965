# Figures for Snakemake's own report (`snakemake --report report.html`): each run's training
# curves, the probe, and `wsmr ground` timelines of a few test queries per method. The tables and
# the PCA's explained variance are report items of their own rules.


rule figures:
    """Every report figure of the generated datasets' complete tables."""
    input:
        [run_figures(d, wcfg.method_variants(config)) for d in GENERATED],
        [f"results/{d}/features/probe.png" for d in GENERATED],


rule history_plot:
    input:
        f"{RUN}/history.csv",
    output:
        report(
            f"{RUN}/history.png",
            caption="../report/history.rst",
            category="{dataset}",
            subcategory="training curves",
            labels={"run": "{method}/{variant}", "seed": "{seed}"},
        ),
    log:
        "logs/{dataset}/history_plot/{method}/{variant}/seed{seed}.log",
    conda:
        "../../envs/wsmr.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    shell:
        "wsmr history-plot --history {input} --out {output}"
        " --title '{wildcards.method}/{wildcards.variant}, seed {wildcards.seed}' 2> {log}"


rule probe_plot:
    input:
        "results/{dataset}/features/probe.json",
    output:
        report(
            "results/{dataset}/features/probe.png",
            caption="../report/probe.rst",
            category="{dataset}",
            subcategory="features",
            labels={"figure": "probe"},
        ),
    log:
        "logs/{dataset}/features/probe_plot.log",
    conda:
        "../../envs/wsmr.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    shell:
        "wsmr probe-plot --probe {input} --out {output} 2> {log}"


rule timelines:
    """`wsmr ground` on test queries of one test video: where the run's method looks."""
    input:
        unpack(method_inputs),
        unpack(lambda w: features_input(w, [w.method])),
        checkpoint=f"{RUN}/checkpoint.pt",
        test=lambda w: samples(w.dataset, "test"),
        videos=videos_dir,
    output:
        [
            report(
                f"{RUN}/timelines/query{i}.png",
                caption="../report/timeline.rst",
                category="{dataset}",
                subcategory="timelines",
                labels={"run": "{method}/{variant}", "seed": "{seed}", "query": str(i)},
            )
            for i in range(REPORT_TIMELINES)
        ],
    log:
        "logs/{dataset}/timelines/{method}/{variant}/seed{seed}.log",
    wildcard_constraints:
        dataset=one_of(EXTRACTED),
    conda:
        "../../envs/wsmr.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        config=timeline_config,
        run_dir=lambda w, input: os.path.dirname(input.checkpoint),
        features=features_arg,
        pattern=lambda w: features_config(w)["video_pattern"],
    shell:
        "wsmr timelines --run {params.run_dir} --config {params.config:q} --samples {input.test}"
        " --videos {input.videos} --video-pattern {params.pattern:q} {params.features}"
        " --out {output} 2> {log}"
