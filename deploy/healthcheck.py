#!/usr/bin/env python3
"""The image's HEALTHCHECK: GET /healthz on loopback, exit 0 when the hub answers {"status": "ok"}.

Standard library only, no proxy (an egress proxy from HTTPS_PROXY/HTTP_PROXY must not see it).
The port is the hub's own, `MCP_HUB_HTTP__PORT` (8080 in the image).
"""

from __future__ import annotations

import json
import os
import sys
import urllib.error
import urllib.request


def main() -> int:
    port = os.environ.get("MCP_HUB_HTTP__PORT", "8080")
    url = f"http://127.0.0.1:{port}/healthz"
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=3) as response:
            body = json.loads(response.read())
    except (OSError, ValueError) as exc:
        print(f"unhealthy: {url}: {exc}", file=sys.stderr)
        return 1
    if body.get("status") != "ok":
        print(f"unhealthy: {url} answered {body!r}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
