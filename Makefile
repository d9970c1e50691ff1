# Everything runs inside a virtual environment that this Makefile creates and keeps in step with pyproject.toml.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

SAMPLE_DIR ?= sample-data
OUTPUT_DIR ?= output

# The step tests again, with the Processing container's Python (3.12, as in the scikit-learn image) and
# exactly the packages its requirements.txt files pin, plus the test tools: what runs on SageMaker is what is
# tested. Found under pyenv or on PATH; or set CONTAINER_PYTHON.
PYENV_ROOT ?= $(or $(shell pyenv root 2>/dev/null),$(HOME)/.pyenv)
CONTAINER_PYTHON ?= $(firstword $(wildcard $(PYENV_ROOT)/versions/3.12*/bin/python3.12) \
                                 $(wildcard /usr/bin/python3.12 /usr/local/bin/python3.12))
CONTAINER_VENV   := .venv-container
CONTAINER_STAMP  := $(CONTAINER_VENV)/.installed-stamp
STEP_REQUIREMENTS := steps/extract/requirements.txt steps/combine/requirements.txt

.PHONY: run test test-container lint bench install clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/python -m scripts.sample_data mimic --output $(SAMPLE_DIR)
	$(BIN)/waveform-pipeline run-local --input $(SAMPLE_DIR) --output $(OUTPUT_DIR)

test: $(STAMP)
	$(BIN)/python -m pytest -q

test-container: $(CONTAINER_STAMP)
	$(CONTAINER_VENV)/bin/python -m pytest -q -m 'not project_env' tests/steps

$(CONTAINER_STAMP): $(STEP_REQUIREMENTS)
	@test -n "$(CONTAINER_PYTHON)" || { echo "error: make test-container needs Python 3.12, the container's;" \
	    "none found: set CONTAINER_PYTHON=/path/to/python3.12" >&2; exit 1; }
	rm -rf $(CONTAINER_VENV)
	$(CONTAINER_PYTHON) -m venv $(CONTAINER_VENV)
	$(CONTAINER_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(CONTAINER_VENV)/bin/python -m pip install --quiet $(addprefix -r ,$(STEP_REQUIREMENTS)) pytest 'moto[server]'
	touch $(CONTAINER_STAMP)

lint: $(STAMP)
	$(BIN)/ruff check pipeline steps scripts tests
	$(BIN)/ruff format --check pipeline steps scripts tests
	$(BIN)/mypy pipeline steps scripts tests

bench: $(STAMP)
	$(BIN)/python -m scripts.bench_extract
	$(BIN)/python -m scripts.bench_local_run

clean:
	rm -rf $(VENV) $(CONTAINER_VENV) $(OUTPUT_DIR) .pytest_cache .mypy_cache .ruff_cache
