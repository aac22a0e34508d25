"""mcp-hub: a self-hosted MCP tool hub."""

__version__ = "0.1.0"
