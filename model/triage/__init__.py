"""Issue triage: `mcp-hub triage REPO` (summary, labels from the repository's own, likely duplicates, and with
approval the labels applied and one Slack digest). Library use: `model.triage.workflow.run_triage`."""
