#!/usr/bin/env bash
# Install the real datasets that work offline (the tests use them): Fashion-MNIST from the
# Debian package dataset-fashion-mnist. As root on Debian it installs the package; anywhere
# else it prints one line saying how. Never fatal for a user (exit 0 with a note); under CI
# (CI=1/true/yes) a dataset that could not be installed fails the job (exit 1), since the
# tests would otherwise skip without anyone noticing.
set -uo pipefail

PACKAGE=dataset-fashion-mnist
DIR=/usr/share/datasets/fashion-mnist
FILES="train-images-idx3-ubyte.gz train-labels-idx1-ubyte.gz t10k-images-idx3-ubyte.gz t10k-labels-idx1-ubyte.gz"

SKIP_NOTE="Fashion-MNIST will need the network; its tests skip"
. "$(dirname "$0")/_give_up.sh"

present() {
    for f in $FILES; do
        [ -f "$DIR/$f" ] || return 1
    done
}

present && exit 0

if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    give_up "Fashion-MNIST is not installed for offline use: run \`sudo apt-get install $PACKAGE\` (Debian/Ubuntu), or put its four IDX .gz files in $DIR"
fi

echo "[datasets] installing $PACKAGE (Fashion-MNIST, 30 MB)" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -qq "$PACKAGE" >/dev/null 2>&1 || {
    apt-get update -qq >/dev/null 2>&1
    apt-get install -y -qq "$PACKAGE" >/dev/null 2>&1
}

present || give_up "could not install $PACKAGE with apt-get; try \`apt-get update && apt-get install $PACKAGE\` by hand to see why"
echo "[datasets] Fashion-MNIST is in $DIR" >&2
