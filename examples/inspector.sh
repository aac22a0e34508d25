#!/usr/bin/env sh
# Open the MCP Inspector on the hub over stdio (needs Node.js; the Inspector runs locally).
# Uses `mcp-hub` from PATH, else the venv of this clone (.venv, as the README installs it).
# Usage: DATABASE_URL=postgresql://reader@127.0.0.1/app examples/inspector.sh
hub=$(command -v mcp-hub || echo "$(cd "$(dirname "$0")/.." && pwd)/.venv/bin/mcp-hub")
exec npx @modelcontextprotocol/inspector "$hub" serve
