"""Federation: other MCP servers attached behind the hub's policy, provenance, audit and flow guard (issue 20)."""
