# wsmr: weakly-supervised video moment retrieval, from raw videos to the papers' tables.
#   snakemake --cores 8 results/tables/charades.csv      # the complete table of a dataset
#   snakemake --cores all                                # the main job: shapes' headline rows
import os

from snakemake.utils import min_version, validate

min_version("9.0")


configfile: os.path.join(workflow.basedir, "config.yaml")


validate(config, "workflow/schemas/config.schema.yaml")


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/features.smk"
include: "workflow/rules/text.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/report.smk"


# Run by Snakemake itself, never submitted to a cluster: the downloads need the internet, which
# compute nodes may lack; the others take seconds, less than a cluster job's queueing.
localrules:
    all,
    figures,
    c3d_weights,
    nltk_data,
    glove,
    other_query_samples,
    table,
    history_plot,
    probe_plot,


rule all:
    default_target: True
    input:
        "results/tables/shapes.headline.csv",
        run_figures("shapes", wcfg.headline_variants(config)),  # for `snakemake --report`
