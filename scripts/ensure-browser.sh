#!/usr/bin/env bash
# Debian's Chromium for the browser tests (tests/browser). Playwright's Python package (from the
# dev extra) drives it through executable_path=/usr/bin/chromium: nothing downloads a browser,
# and `playwright install` is never run. Installs Debian's `chromium` package when it is missing
# and we may (root, or password-less sudo, with apt-get); otherwise the browser tests skip with
# a message saying so. Always exits 0: a machine without a browser still runs everything else.
set -uo pipefail
CHROMIUM=/usr/bin/chromium

if [[ ! -x "$CHROMIUM" ]]; then
    if [[ "$(id -u)" == "0" ]]; then
        as_root=()
    elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
        as_root=(sudo -n)
    else
        as_root=(none)
    fi
    if [[ "${as_root[*]-}" != "none" ]] && command -v apt-get >/dev/null; then
        echo "dev: installing Debian's chromium for the browser tests" >&2
        if ! { "${as_root[@]}" apt-get update -qq \
            && "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive \
                apt-get install -y -qq -o Dpkg::Use-Pty=0 chromium >/dev/null; }; then
            echo "dev: could not install chromium; the browser tests will be skipped" >&2
        fi
    else
        echo "dev: $CHROMIUM is missing and apt-get cannot be used here (not root, no sudo);" \
            "the browser tests will be skipped. Install Debian's chromium package to run them." >&2
    fi
fi

# Installed but unable to start (a missing library, a broken package): say so now, not as a
# timeout in the middle of a test.
if [[ -x "$CHROMIUM" ]] && ! "$CHROMIUM" --headless --no-sandbox --disable-gpu --version >/dev/null 2>&1; then
    echo "dev: $CHROMIUM is installed but does not start; see: $CHROMIUM --headless --version" >&2
fi
exit 0
