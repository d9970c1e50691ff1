# Everything runs inside a virtual environment that this Makefile creates and keeps in step with pyproject.toml.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

SAMPLE_DIR ?= sample-data
OUTPUT_DIR ?= output

.PHONY: run test lint bench install clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/python scripts/generate_sample_data.py --output $(SAMPLE_DIR)
	$(BIN)/waveform-pipeline run-local --input $(SAMPLE_DIR) --output $(OUTPUT_DIR)

test: $(STAMP)
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check pipeline steps scripts tests
	$(BIN)/ruff format --check pipeline steps scripts tests
	$(BIN)/mypy pipeline steps scripts

bench: $(STAMP)
	$(BIN)/python scripts/bench_extract.py

clean:
	rm -rf $(VENV) $(OUTPUT_DIR) .pytest_cache .mypy_cache .ruff_cache
