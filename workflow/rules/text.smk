# Samples -> tokens and part-of-speech tags, vocabulary (training split only), embeddings.


rule text:
    input:
        unpack(text_inputs),
    output:
        samples=expand("results/{{dataset}}/text/{split}.jsonl", split=SPLITS),
        vocab="results/{dataset}/text/vocab.json",
        embeddings="results/{dataset}/text/embeddings.npy",
        report="results/{dataset}/text/report.json",
    log:
        "logs/{dataset}/text.log",
    conda:
        "../../envs/wsmr.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=60,
    params:
        tracking=tracking_uri,
        settings=text_settings,
        nltk_env=nltk_env,
    shell:
        wsmr(
            "text --dataset {wildcards.dataset} --settings {params.settings:q}"
            " --splits {input.samples} --out {output.samples} --out-vocab {output.vocab}"
            " --out-embeddings {output.embeddings} --report {output.report}",
            env="{params.nltk_env}",
        )


rule nltk_data:
    """NLTK's tagger data, when NLTK_DATA does not have it (needs internet once)."""
    output:
        directory(NLTK_DOWNLOAD),
    log:
        "logs/resources/nltk_data.log",
    conda:
        "../../envs/wsmr.yaml"
    resources:
        runtime=30,
    shell:
        f"wsmr nltk-data --out-dir {NLTK_ROOT} 2> {{log}}"


rule glove:
    """A GloVe file configured under resources/glove/, from its text.glove.url (a .zip is
    unpacked). A path elsewhere is a file you supply."""
    output:
        "resources/glove/{name}.txt",
    log:
        "logs/resources/glove_{name}.log",
    conda:
        "../../envs/wsmr.yaml"
    resources:
        runtime=240,
    params:
        url=glove_url,
    shell:
        "wsmr fetch --url {params.url:q} --out {output} 2> {log}"
