#!/usr/bin/env sh
# Open the MCP Inspector on the hub over stdio (needs Node.js; the Inspector runs locally).
# Usage: DATABASE_URL=postgresql://reader@127.0.0.1/app examples/inspector.sh
exec npx @modelcontextprotocol/inspector mcp-hub serve
