"""The code-review bot: `mcp-hub review URL`, and `review_pull_request` for any MCP client.

This module stays light (the hub reads `MANIFEST` at start-up through the
`mcp_hub.connectors` entry point `review = "model.review:MANIFEST"`); the workflow
tool itself (`model.review.tool.ReviewWorkflow`) is imported only when configured.
Library use: `model.review.workflow.run_review`.
"""

from __future__ import annotations

from mcp_hub.connector import ConnectorManifest

MANIFEST = ConnectorManifest(
    name="review",
    target="model.review.tool:ReviewWorkflow",
    ecosystem_env={},
)

__all__ = ["MANIFEST"]
