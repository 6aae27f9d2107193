#!/usr/bin/env bash
# Install wrk, the HTTP load generator the benchmark drives (Debian package; needs root).
# Idempotent: does nothing when wrk is already on PATH.
set -euo pipefail

if command -v wrk >/dev/null 2>&1; then
    echo "bench/setup.sh: wrk already installed: $(command -v wrk)"
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi

# A fresh machine may have no package lists yet; a stale list may not know wrk.
if ! apt-cache show wrk >/dev/null 2>&1; then
    $SUDO apt-get update -qq
fi
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq wrk >/dev/null
echo "bench/setup.sh: installed $(command -v wrk)"
