#!/bin/sh
# What the browser tests (tests/browser) need: Debian's chromium, driven by the
# Playwright Python package (pinned in requirements-test.lock). Playwright's own
# browser download (`playwright install`) is never used.
#
# Usage: scripts/install_browser.sh [python]   (default: .venv/bin/python)
# Set ROSTER_CHROMIUM to use a chromium at another path.
set -eu

PYTHON="${1:-.venv/bin/python}"
CHROMIUM="${ROSTER_CHROMIUM:-/usr/bin/chromium}"

if [ ! -x "$CHROMIUM" ]; then
    if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
    $SUDO apt-get update
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends chromium
fi
"$CHROMIUM" --version

if ! "$PYTHON" -c "import playwright" 2>/dev/null; then
    echo "playwright is missing: pip install -r requirements-test.lock" >&2
    exit 1
fi
"$PYTHON" -c "from importlib.metadata import version; print('playwright', version('playwright'))"
