#!/usr/bin/env bash
# Make sure a Docker engine answers. On a fresh Debian machine as root: install docker.io and
# start dockerd in the background. Anywhere else: one line saying what to do.
set -euo pipefail

WAIT_S=60
LOG=/var/log/research-agent-dockerd.log

if command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then
    exit 0
fi

if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "error: no Docker engine answers; install Docker Engine and start it (or join the docker group), then retry" >&2
    exit 1
fi

# apt-get install, refreshing the package lists once if they are missing or stale.
apt_install() {
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null 2>&1 || {
        DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
    }
}

# gVisor as an opt-in runtime (`--runtime runsc`), registered only on engines we set up
# ourselves and only when no daemon.json exists yet (never rewrite a user's configuration).
# --oci-seccomp makes runsc apply our seccomp profile; --network=none is required for
# `--network none` containers to start under this runsc build. Written before docker.io is installed,
# because its postinst starts dockerd wherever policy-rc.d allows it.
if [ ! -e /etc/docker/daemon.json ] && ! pgrep -x dockerd >/dev/null 2>&1; then
    if ! command -v runsc >/dev/null 2>&1; then
        apt_install runsc || echo "[engine] runsc (gVisor) not installable; continuing without it" >&2
    fi
    if command -v runsc >/dev/null 2>&1; then
        mkdir -p /etc/docker
        cat >/etc/docker/daemon.json <<JSON
{"runtimes": {"runsc": {"path": "$(command -v runsc)", "runtimeArgs": ["--oci-seccomp", "--network=none"]}}}
JSON
        echo "[engine] registered gVisor (runsc) as an optional runtime" >&2
    fi
fi

if ! command -v dockerd >/dev/null 2>&1 || ! command -v docker >/dev/null 2>&1; then
    echo "[engine] installing docker.io" >&2
    apt_install docker.io
fi

if ! pgrep -x dockerd >/dev/null 2>&1; then
    echo "[engine] starting dockerd in the background (log: $LOG)" >&2
    nohup dockerd >"$LOG" 2>&1 &
fi

for _ in $(seq "$WAIT_S"); do
    if docker info >/dev/null 2>&1; then
        echo "[engine] Docker engine is up" >&2
        exit 0
    fi
    sleep 1
done
echo "error: dockerd did not come up within ${WAIT_S}s; see $LOG" >&2
tail -n 5 "$LOG" >&2 || true
exit 1
