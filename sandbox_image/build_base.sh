#!/usr/bin/env bash
# Build the sandbox's base image without any container registry:
# a Debian bookworm rootfs from debootstrap, imported with `docker import`.
#
# Usage: sandbox_image/build_base.sh IMAGE_TAG (or `research-agent image base`)
# The mirror is read from this machine's apt sources (never hard-coded here);
# without one, debootstrap falls back to its own built-in default.
set -euo pipefail

TAG="${1:?usage: build_base.sh IMAGE_TAG}"
# Only what the runner needs: Python 3.11 with venv (ensurepip), libgomp for torch's OpenMP,
# tini is provided by Docker's own init (--init), so it is not installed here.
PACKAGES="python3,python3-venv,libgomp1,ca-certificates"

if ! command -v debootstrap >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "[base] installing debootstrap" >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
    else
        echo "error: debootstrap is missing; install it (apt-get install debootstrap) or provide python:3.11-slim" >&2
        exit 1
    fi
fi

mirror_from_apt_sources() {
    # deb822 sources first (Debian 12 default), then the classic one-line format.
    local uri=""
    if compgen -G "/etc/apt/sources.list.d/*.sources" >/dev/null; then
        uri=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/*.sources)
    fi
    if [ -z "$uri" ] && [ -f /etc/apt/sources.list ]; then
        uri=$(awk '$1 == "deb" && $0 !~ /security/ {for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) {print $i; exit}}' /etc/apt/sources.list)
    fi
    case "$uri" in
        *security*) uri="" ;;
    esac
    echo "$uri"
}

MIRROR="$(mirror_from_apt_sources)"
WORK="$(mktemp -d /var/tmp/research-agent-rootfs.XXXXXX)"
trap 'rm -rf "$WORK"' EXIT

echo "[base] debootstrap bookworm (minbase) into $WORK ${MIRROR:+from $MIRROR}" >&2
# shellcheck disable=SC2086
debootstrap --variant=minbase --include="$PACKAGES" bookworm "$WORK/rootfs" $MIRROR >"$WORK/debootstrap.log" 2>&1 || {
    tail -n 20 "$WORK/debootstrap.log" >&2
    echo "error: debootstrap failed; see the lines above" >&2
    exit 1
}

# Slim the rootfs: caches and docs are not needed to run Python.
rm -rf "$WORK/rootfs/var/cache/apt/archives/"*.deb "$WORK/rootfs/var/lib/apt/lists/"* \
       "$WORK/rootfs/usr/share/doc" "$WORK/rootfs/usr/share/man" "$WORK/rootfs/usr/share/locale"

echo "[base] docker import -> $TAG" >&2
tar -C "$WORK/rootfs" -c . | docker import \
    --change 'ENV LANG=C.UTF-8' \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["python3"]' \
    - "$TAG" >/dev/null
echo "[base] built $TAG" >&2
