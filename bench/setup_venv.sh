#!/usr/bin/env bash
# Create (once) the bench venv: the same torch as the sandbox image, for the host baseline.
#
# `.venv-bench` holds torch 2.13.0 (pip takes the +cpu build from the machine's local wheel
# directory) and numpy, nothing else: the no-sandbox side of bench/overhead.py runs the
# in-image runner with this interpreter. Re-running is cheap: an intact venv is kept.
set -euo pipefail

cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
VENV=.venv-bench
TORCH_VERSION=2.13.0

check() {
    "$VENV/bin/python" - "$TORCH_VERSION" <<'PY' >/dev/null 2>&1
import sys
import numpy  # noqa: F401
import torch
sys.exit(0 if torch.__version__.split("+")[0] == sys.argv[1] else 1)
PY
}

if [ -x "$VENV/bin/python" ] && check; then
    exit 0
fi

echo "[bench] creating $VENV with torch==$TORCH_VERSION and numpy" >&2
test -x "$VENV/bin/python" || "$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
    "torch==$TORCH_VERSION" numpy 2>&1 | { grep -v "^WARNING: Location" || true; }
if ! check; then
    echo "error: $VENV has no working torch $TORCH_VERSION with numpy; see pip's output above" >&2
    exit 1
fi
"$VENV/bin/python" -c "import torch, numpy; print(f'[bench] {torch.__version__=} {numpy.__version__=}')" >&2
