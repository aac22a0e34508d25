"""Checking that a delivery comes from the forge: constant-time comparisons only.

GitHub: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body with the webhook secret>`.
GitLab: `X-Gitlab-Token: <the secret token>` (GitLab sends the token itself, not a signature).
"""

from __future__ import annotations

import hashlib
import hmac


def github_signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify_github(secret: str, body: bytes, header: str | None) -> bool:
    if not secret or not header:
        return False
    return hmac.compare_digest(github_signature(secret, body).encode(), header.strip().encode())


def verify_gitlab(secret: str, header: str | None) -> bool:
    if not secret or header is None:
        return False
    return hmac.compare_digest(secret.encode(), header.encode())
