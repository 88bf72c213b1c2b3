#!/usr/bin/env bash
# The browser of the dashboard's end-to-end tests: Debian's chromium, driven by Playwright with
# executable_path (Playwright's own browser download needs the network). As root on Debian it
# installs the package; anywhere else it prints one line saying how. Never fatal for a user (exit
# 0 with a note); under CI (CI=1/true/yes) a browser that could not be installed fails the job
# (exit 1), since the browser tests would otherwise skip without anyone noticing.
set -uo pipefail

BROWSER=/usr/bin/chromium

SKIP_NOTE="the dashboard's browser tests skip"
. "$(dirname "$0")/_give_up.sh"

[ -x "$BROWSER" ] && exit 0

if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    give_up "Chromium is not installed: run \`sudo apt-get install chromium\` (Debian/Ubuntu)"
fi

echo "[browser] installing Debian's chromium (for the dashboard's browser tests; about 2 minutes)" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -qq chromium >/dev/null 2>&1 || {
    apt-get update -qq >/dev/null 2>&1
    apt-get install -y -qq chromium >/dev/null 2>&1
}

[ -x "$BROWSER" ] || give_up "could not install chromium with apt-get; try \`apt-get update && apt-get install chromium\` by hand to see why"
echo "[browser] $("$BROWSER" --version 2>/dev/null)" >&2
