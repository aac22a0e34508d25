"""`mcp-hub model eval`: measure a self-hosted model's risks before trusting it.

Three suites (tools, code, bias) run against an OpenAI-compatible endpoint;
results go to a resumable JSON-lines file; a report (HTML, Markdown, JSON)
summarises them with Wilson intervals. The module layout, one job each:
`options` (CLI), `data` (versioned prompt files), `tools`/`code`/`bias`
(the suites), `stats`, `store`, `summary`, `plots`, `report`, `world`
(runtime fixtures for the tools suite), `command` (wiring).
"""
