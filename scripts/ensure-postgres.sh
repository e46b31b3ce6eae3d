#!/usr/bin/env bash
# Debian's PostgreSQL server for tests/serve/test_postgres.py, which starts its own server in a
# temp dir (initdb + pg_ctl, as a non-root user) and never touches a system cluster. Installs
# the `postgresql` package when its binaries are missing and we may (root, or password-less
# sudo, with apt-get); otherwise that test skips with a message saying so. Always exits 0.
set -uo pipefail

if compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || command -v initdb >/dev/null; then
    exit 0
fi
if [[ "$(id -u)" == "0" ]]; then
    as_root=()
elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
    as_root=(sudo -n)
else
    echo "dev: PostgreSQL is missing and apt-get cannot be used here (not root, no sudo);" \
        "the PostgreSQL test will be skipped. Install Debian's postgresql package to run it." >&2
    exit 0
fi
if command -v apt-get >/dev/null; then
    echo "dev: installing Debian's postgresql for the PostgreSQL test" >&2
    if ! { "${as_root[@]}" apt-get update -qq \
        && "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive RUNLEVEL=1 \
            apt-get install -y -qq -o Dpkg::Use-Pty=0 postgresql >/dev/null; }; then
        echo "dev: could not install postgresql; the PostgreSQL test will be skipped" >&2
    fi
fi
exit 0
