#!/usr/bin/env bash
# Headless chromium and its driver from Debian, for the `t2l-edge serve` page tests
# (tests/test_serve_browser.py) and the README screenshot. Idempotent: does nothing when
# both are already there. Needs root (CI runs as root) or sudo.
set -euo pipefail
if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then
    exit 0
fi
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
echo "[install_browser] installing chromium and chromium-driver with apt"
$SUDO apt-get update -q
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q chromium chromium-driver
