"""`mcp-hub webhook`: GitHub and GitLab webhooks in, reviews and triage out, exactly once per head commit.

signature (HMAC / token checks) -> events (payload -> Job) -> store (persisted queue and record:
SQLite, Postgres or Redis) -> worker (leases, per-PR exclusion, bounded concurrency, backpressure) ->
runner (the review and triage workflows as libraries); app (Starlette: webhooks, /healthz, /metrics).
"""
