# One method/variant/seed: train (selecting on validation), then predict the test split.


rule train:
    input:
        unpack(train_inputs),
    output:
        checkpoint=f"{RUN}/checkpoint.pt",
        history=f"{RUN}/history.csv",
    log:
        "logs/{dataset}/train/{method}/{variant}/seed{seed}.log",
    benchmark:
        "results/{dataset}/benchmarks/train/{method}/{variant}/seed{seed}.tsv"
    conda:
        "../../envs/wsmr.yaml"
    threads: train_threads
    resources:
        mem_mb=4000,
        runtime=120,
    params:
        tracking=tracking_uri,
        job=job_settings,
        inputs=method_input_args,
        run_dir=lambda w, output: os.path.dirname(output.checkpoint),
        checkpoint_of=checkpoint_of_arg,
    shell:
        wsmr(
            "train --job {params.job:q} --seed {wildcards.seed} --run-dir {params.run_dir}"
            " {params.inputs} {params.checkpoint_of} --threads {threads}"
        )


rule predict:
    input:
        unpack(method_inputs),
        checkpoint=f"{RUN}/checkpoint.pt",
    output:
        predictions=f"{RUN}/predictions.jsonl",
    log:
        "logs/{dataset}/predict/{method}/{variant}/seed{seed}.log",
    wildcard_constraints:
        method=BLIND_METHODS,
    conda:
        "../../envs/wsmr.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    params:
        tracking=tracking_uri,
        job=job_settings,
        inputs=method_input_args,
        run_dir=lambda w, input: os.path.dirname(input.checkpoint),
        control=control_args,
    shell:
        wsmr(
            "predict --job {params.job:q} --seed {wildcards.seed}"
            " --run-dir {params.run_dir} {params.inputs} --threads {threads}"
            " --split test {params.control} --out {output.predictions}"
        )


# A method that reads the query also predicts the other-query control (README, "Controls"),
# in the same job: the model is loaded once and the same predict code runs on other words.
use rule predict as predict_with_control with:
    input:
        unpack(method_inputs),
        checkpoint=f"{RUN}/checkpoint.pt",
        control_samples="results/{dataset}/controls/other_query.jsonl",
    output:
        predictions=f"{RUN}/predictions.jsonl",
        control_predictions=f"{RUN}/predictions.other_query.jsonl",
    wildcard_constraints:
        method=QUERY_READERS,
