#!/usr/bin/env bash
# JupyterHub's own proxy (configurable-http-proxy, from the npm registry) for the test that runs
# the README's jupyterhub_config.py as written, behind the proxy (tests/serve/test_hub.py).
# Installed once into .proxy/ (ignored by git) with the machine's node and npm. Always exits 0:
# without node/npm that test skips with a message saying so; every other hub test needs no proxy.
set -uo pipefail
cd "$(dirname "$0")/.."
CHP_VERSION=5.3.0
BIN=.proxy/node_modules/.bin/configurable-http-proxy

if [[ ! -x "$BIN" ]]; then
    if command -v npm >/dev/null && command -v node >/dev/null; then
        echo "dev: installing configurable-http-proxy $CHP_VERSION into .proxy/ (JupyterHub's proxy)" >&2
        if ! npm install --prefix .proxy --no-audit --no-fund --silent \
            "configurable-http-proxy@$CHP_VERSION" >/dev/null; then
            echo "dev: could not install configurable-http-proxy; the proxied hub test will be skipped" >&2
        fi
    else
        echo "dev: node and npm are missing: the proxied hub test will be skipped" \
            "(install Debian's nodejs and npm to run it)." >&2
    fi
fi
exit 0
