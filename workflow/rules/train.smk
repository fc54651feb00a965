# One method/variant/seed: train (selecting on validation), then predict the test split.


rule train:
    input:
        unpack(method_inputs),
    output:
        checkpoint=f"{RUN}/checkpoint.pt",
        history=f"{RUN}/history.csv",
    params:
        job=job_settings,
        inputs=method_input_args,
        run_dir=RUN,
    log:
        "logs/{dataset}/train/{method}/{variant}/seed{seed}.log",
    threads: train_threads
    resources:
        mem_mb=4000,
        runtime=120,
    shell:
        "wsmr --tracking {TRACKING:q} train --job {params.job:q} --seed {wildcards.seed}"
        " --run-dir {params.run_dir} {params.inputs} --threads {threads} 2> {log}"


rule predict:
    input:
        unpack(method_inputs),
        checkpoint=f"{RUN}/checkpoint.pt",
    output:
        f"{RUN}/predictions.jsonl",
    params:
        job=job_settings,
        inputs=method_input_args,
        run_dir=RUN,
    log:
        "logs/{dataset}/predict/{method}/{variant}/seed{seed}.log",
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    shell:
        "wsmr --tracking {TRACKING:q} predict --job {params.job:q} --seed {wildcards.seed}"
        " --run-dir {params.run_dir} {params.inputs} --threads {threads}"
        " --split test --out {output} 2> {log}"
