# Two commands on a fresh machine: `make run` and `make test`. Only Python 3.11 is assumed.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
export DAGSTER_HOME := $(CURDIR)/dagster_home
export RAW_DIR ?= raw
export WAREHOUSE_PATH ?= warehouse/warehouse.duckdb

.PHONY: install run test dev sample bench clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/.installed

sample: install
	$(BIN)/python -m pipeline sample --out $(RAW_DIR)

# make run [QUARTER=YYYY-Qn]: checks, then materializes the quarter (default: every quarter folder without
# figures yet, oldest first, then the newest), printing a summary of each; Dagster's output goes to a log file
run: install
	@if ! ls -d $(RAW_DIR)/[0-9][0-9][0-9][0-9]-Q[1-4] >/dev/null 2>&1; then $(BIN)/python -m pipeline sample --out $(RAW_DIR); fi
	@$(BIN)/python -m pipeline run $(QUARTER)

test: install
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

bench: install
	$(BIN)/python bench/run.py

dev: install
	PIPELINE_WEBSERVER=127.0.0.1:3000 $(BIN)/dagster dev -h 127.0.0.1 -p 3000

clean:
	rm -rf $(VENV) warehouse/warehouse.duckdb* warehouse/outputs
