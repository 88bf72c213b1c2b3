#!/usr/bin/env bash
# Create (once) the bench venv: the sandbox image's torch and interpreter, for the host baseline.
#
# `.venv-bench` holds torch 2.13.0 (pip takes the +cpu build from the machine's local wheel
# directory) and numpy, nothing else: the no-sandbox side of bench/overhead.py runs the
# in-image runner with it. The interpreter is the distribution's python3.11 when there is
# one (the image's base is Debian bookworm, whose CPython is built with PGO/LTO; a pyenv
# build is noticeably slower at `import torch`), else $PYTHON or python3. Re-running is
# cheap: an intact venv on the same interpreter is kept.
set -euo pipefail

cd "$(dirname "$0")/.."
VENV=.venv-bench
TORCH_VERSION=2.13.0
if [ -z "${PYTHON:-}" ]; then
    if [ -x /usr/bin/python3.11 ] && /usr/bin/python3.11 -c "import ensurepip, venv" 2>/dev/null; then
        PYTHON=/usr/bin/python3.11
    else
        PYTHON=python3
    fi
fi

check() {
    "$VENV/bin/python" - "$TORCH_VERSION" "$("$PYTHON" -c 'import sys; print(sys.version)')" <<'PY' >/dev/null 2>&1
import sys
import numpy  # noqa: F401
import torch
ok = torch.__version__.split("+")[0] == sys.argv[1] and sys.version == sys.argv[2]
sys.exit(0 if ok else 1)
PY
}

if [ -x "$VENV/bin/python" ] && check; then
    exit 0
fi

echo "[bench] creating $VENV ($PYTHON) with torch==$TORCH_VERSION and numpy" >&2
rm -rf "$VENV"
"$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
    "torch==$TORCH_VERSION" numpy 2>&1 | { grep -v "^WARNING: Location" || true; }
if ! check; then
    echo "error: $VENV has no working torch $TORCH_VERSION with numpy; see pip's output above" >&2
    exit 1
fi
"$VENV/bin/python" -c "import sys, torch, numpy; print(f'[bench] python {sys.version.split()[0]}, torch {torch.__version__}, numpy {numpy.__version__}')" >&2
