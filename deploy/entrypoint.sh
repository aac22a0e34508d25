#!/bin/sh
# The mcp-hub image's entrypoint.
#
#   serve [ARGS]   (the default) `mcp-hub serve --transport http ARGS`, on $MCP_HUB_HTTP__HOST and
#                  $MCP_HUB_HTTP__PORT, after checking that every token file the environment names
#                  (MCP_HUB_HTTP__TOKENS__<NAME>__TOKEN_FILE) exists, is readable and is not empty;
#   anything else  `mcp-hub ARGS` (e.g. `config check`, `tools`).
#
# A missing token file is the usual first-run mistake (the Secret or compose secret is not mounted):
# say which variable, which path and what to do, and stop, rather than serve a hub nobody can use.
set -eu

fail() {
    echo "mcp-hub-entrypoint: $*" >&2
    exit 64
}

if [ "${1:-serve}" != "serve" ]; then
    exec mcp-hub "$@"
fi
[ $# -gt 0 ] && shift

for var in $(env | sed -n 's/^\(MCP_HUB_HTTP__TOKENS__[A-Za-z0-9_]*__TOKEN_FILE\)=.*/\1/p'); do
    eval "path=\${$var}"
    if [ ! -e "$path" ]; then
        fail "$var names $path, which does not exist: mount the hub's bearer token there" \
            "(a Kubernetes Secret volume, the compose secrets directory, or" \
            "docker run -v DIR:/run/secrets/mcp-hub:ro with DIR/token in it)"
    fi
    if [ ! -r "$path" ]; then
        fail "$var names $path, which user $(id -u) cannot read: make it readable by that user or group" \
            "(Kubernetes: fsGroup 10001; compose: chmod 0640 and chgrp 10001)"
    fi
    if [ ! -s "$path" ]; then
        fail "$var names $path, which is empty: write a long random token into it," \
            "e.g. python3 -c 'import secrets; print(secrets.token_urlsafe(32))' > token"
    fi
done

exec mcp-hub serve --transport http "$@"
