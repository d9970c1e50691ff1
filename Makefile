# Everything runs inside a virtual environment that this Makefile creates and keeps in step with pyproject.toml.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

SAMPLE_DIR ?= sample-data
OUTPUT_DIR ?= output

# The step tests again, with the Processing container's Python (3.12, as in the scikit-learn image) and
# exactly the packages its requirements.txt files pin, plus the test tools: what runs on SageMaker is what is
# tested. Found under pyenv or on PATH; or set CONTAINER_PYTHON. The two locked lists go into one venv, as into
# the custom image (steps/Dockerfile): `make lock` resolves them together, so a package both need is pinned
# alike. The test tools come after, constrained to the versions installed, so they change none of them.
PYENV_ROOT ?= $(or $(shell pyenv root 2>/dev/null),$(HOME)/.pyenv)
CONTAINER_PYTHON ?= $(firstword $(wildcard $(PYENV_ROOT)/versions/3.12*/bin/python3.12) \
                                 $(wildcard /usr/bin/python3.12 /usr/local/bin/python3.12))
CONTAINER_VENV   := .venv-container
CONTAINER_STAMP  := $(CONTAINER_VENV)/.installed-stamp
STEP_REQUIREMENTS := steps/inventory/requirements.txt steps/extract/requirements.txt steps/combine/requirements.txt
# `make lock`: steps/<step>/requirements.txt from requirements.in and steps/image-versions.txt (every package
# pinned, with its wheels' sha256; scripts/lock_requirements.py, docs/container.md), in a throwaway venv of
# CONTAINER_PYTHON with a pinned pip. LOCK_ARGS=--upgrade re-resolves what no input file pins.
LOCK_VENV := .venv-lock
LOCK_PIP  := pip==26.3

.PHONY: run test test-container lock lint bench install clean

install: $(STAMP)

# The editable build's one warning (folders named like the package take precedence: that is the point of an
# editable install here) is silenced; any other warning or error still shows.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	PYTHONWARNINGS="ignore:Editable installation" $(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/python -m scripts.sample_data mimic --output-dir $(SAMPLE_DIR)
	$(BIN)/waveform-pipeline run-local --input-dir $(SAMPLE_DIR) --output-dir $(OUTPUT_DIR)

test: $(STAMP)
	$(BIN)/python -m pytest -q

test-container: $(CONTAINER_STAMP)
	$(CONTAINER_VENV)/bin/python -m pytest -q -m 'not project_env' tests/steps

$(CONTAINER_STAMP): $(STEP_REQUIREMENTS) Makefile
	@test -n "$(CONTAINER_PYTHON)" || { echo "error: make test-container needs Python 3.12, the container's;" \
	    "none found: set CONTAINER_PYTHON=/path/to/python3.12" >&2; exit 1; }
	rm -rf $(CONTAINER_VENV)
	$(CONTAINER_PYTHON) -m venv $(CONTAINER_VENV)
	$(CONTAINER_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(CONTAINER_VENV)/bin/python -m pip install --quiet --require-hashes --only-binary=:all: \
	    $(addprefix -r ,$(STEP_REQUIREMENTS))
	$(CONTAINER_VENV)/bin/python -m pip check
	$(CONTAINER_VENV)/bin/python -m pip freeze --all > $(CONTAINER_VENV)/locked.txt
	$(CONTAINER_VENV)/bin/python -m pip install --quiet -c $(CONTAINER_VENV)/locked.txt pytest 'moto[server]' regex hypothesis
	touch $(CONTAINER_STAMP)

lock:
	@test -n "$(CONTAINER_PYTHON)" || { echo "error: make lock needs Python 3.12, the container's;" \
	    "none found: set CONTAINER_PYTHON=/path/to/python3.12" >&2; exit 1; }
	rm -rf $(LOCK_VENV)
	$(CONTAINER_PYTHON) -m venv $(LOCK_VENV)
	$(LOCK_VENV)/bin/python -m pip install --quiet '$(LOCK_PIP)'
	$(LOCK_VENV)/bin/python -m scripts.lock_requirements $(LOCK_ARGS); status=$$?; rm -rf $(LOCK_VENV); exit $$status

lint: $(STAMP)
	$(BIN)/ruff check pipeline steps scripts tests
	$(BIN)/ruff format --check pipeline steps scripts tests
	$(BIN)/mypy pipeline steps scripts tests

bench: $(STAMP)
	$(BIN)/python -m scripts.bench_extract
	$(BIN)/python -m scripts.bench_local_run

clean:
	rm -rf $(VENV) $(CONTAINER_VENV) $(OUTPUT_DIR) .pytest_cache .mypy_cache .ruff_cache
