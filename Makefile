# Two commands for a fresh machine (see README):
#   make demo   set up .venv, then run the main job on the embedded `shapes` dataset
#   make test   set up .venv, then run the tests
#   make docs   regenerate the README's and docs' tables from results/tables
#   make lint   set up .venv, then ruff, snakefmt --check and snakemake --lint (CI runs it first)
#   make test-cluster   (root; CI) the DAG on a real single-node SLURM cluster, see README
VENV ?= .venv
PYTHON ?= python3
CORES ?= all
BIN := $(VENV)/bin
# the venv's tools (wsmr, snakemake) must be on PATH for the rules' shell commands
RUN := PATH="$(abspath $(BIN)):$$PATH"
# NLTK's tagger data for the real datasets' tests, when ../shared is beside the checkout
SHARED_NLTK := $(abspath ../shared/nltk_data)
export NLTK_DATA ?= $(if $(wildcard $(SHARED_NLTK)),$(SHARED_NLTK))

.PHONY: setup demo table docs lint test test-cluster clean

$(BIN)/.installed: pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[test]'
	touch $@

setup: $(BIN)/.installed

demo: setup
	$(RUN) snakemake --cores $(CORES)

table: setup
	$(RUN) snakemake --cores $(CORES) results/tables/shapes.csv

# the README's and docs' tables from results/tables/*.csv (src/wsmr/doc_tables.py): run it after
# the tables they name are built
docs: setup
	$(BIN)/wsmr doc-tables README.md docs/*.md

# ruff's and snakefmt's settings are in pyproject.toml; --lint exits 1 on any finding
lint: setup
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/snakefmt --check Snakefile workflow
	$(RUN) snakemake --lint

# two pytest-xdist workers, a file's tests on one (tests/conftest.py): the test DAGs' jobs and
# the unit tests share both cores
TEST_WORKERS ?= 2
test: setup
	$(RUN) python -m pytest -m "not slow" -n $(TEST_WORKERS) --durations=20

$(BIN)/.installed-slurm: $(BIN)/.installed
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[test,slurm]'
	touch $@

# installs slurm-wlm and munge with apt and starts SLURM's daemons: for root on a CI machine;
# -s puts each job's sbatch submission in the log
test-cluster: $(BIN)/.installed-slurm
	$(RUN) WSMR_SLURM_TEST=1 python -m pytest -s tests/cluster

clean:
	rm -rf results logs .snakemake mlflow.db mlflow.db.lock mlruns
