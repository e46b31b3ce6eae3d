#!/usr/bin/env bash
# Debian's Chromium for the browser tests (Playwright drives it; no browser download).
# Installs it when missing and we may (root with apt); otherwise the browser tests skip
# with a message saying so.
set -uo pipefail
if [[ -x /usr/bin/chromium ]]; then exit 0; fi
if [[ "$(id -u)" == "0" ]] && command -v apt-get >/dev/null; then
    echo "dev: installing Debian's chromium for the browser tests" >&2
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
        || echo "dev: could not install chromium; browser tests will be skipped" >&2
else
    echo "dev: /usr/bin/chromium missing and apt not usable; browser tests will be skipped" >&2
fi
exit 0
