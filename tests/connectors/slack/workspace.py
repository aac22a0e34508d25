"""Realistic Slack Web API objects for the fake: users, conversations, messages with blocks (as Slack sends)."""

from __future__ import annotations

import random
import uuid
from typing import Any

TEAM = "T0AB12CD34"
OTHER_TEAM = "T0ZZ98YX76"
BOT = "U0HUBBOT05"
ALICE, BOB, GINA, EVE = "U0ALICE001", "U0BOB00002", "U0GUEST003", "U0EXT00004"
GENERAL, RANDOM, SECRET, PARTNERS, DM = "C0GENERAL1", "C0RANDOM02", "G0SECRET03", "C0SHARED04", "D0DMALICE5"


def user(uid: str, name: str, real: str, *, team: str = TEAM, **flags: Any) -> dict[str, Any]:
    return {
        "id": uid,
        "team_id": team,
        "name": name,
        "deleted": False,
        "color": "9f69e7",
        "real_name": real,
        "tz": "Europe/Berlin",
        "tz_label": "Central European Time",
        "tz_offset": 3600,
        "profile": {
            "title": flags.pop("title", ""),
            "phone": "",
            "skype": "",
            "real_name": real,
            "real_name_normalized": real,
            "display_name": name,
            "display_name_normalized": name,
            "status_text": "",
            "status_emoji": "",
            "avatar_hash": "ge3b51ca72de",
            "image_24": "https://a.slack-edge.com/avatars/24.png",
            "image_48": "https://a.slack-edge.com/avatars/48.png",
            "team": team,
        },
        "is_admin": False,
        "is_owner": False,
        "is_primary_owner": False,
        "is_restricted": flags.pop("is_restricted", False),
        "is_ultra_restricted": False,
        "is_bot": flags.pop("is_bot", False),
        "is_app_user": False,
        "updated": 1714557720,
        **flags,
    }


def conversation(
    cid: str, name: str, *, private: bool = False, shared: bool = False, topic: str = ""
) -> dict[str, Any]:
    return {
        "id": cid,
        "name": name,
        "is_channel": not private,
        "is_group": private,
        "is_im": False,
        "is_mpim": False,
        "is_private": private,
        "created": 1600000000,
        "is_archived": False,
        "is_general": name == "general",
        "unlinked": 0,
        "name_normalized": name,
        "is_shared": shared,
        "is_ext_shared": shared,
        "is_org_shared": False,
        "pending_shared": [],
        "is_pending_ext_shared": False,
        "is_member": True,
        "creator": ALICE,
        "topic": {"value": topic, "creator": ALICE, "last_set": 1600000000},
        "purpose": {"value": f"{name} things", "creator": ALICE, "last_set": 1600000000},
        "num_members": 12,
    }


def im(cid: str, other: str) -> dict[str, Any]:
    return {
        "id": cid,
        "created": 1600000000,
        "is_im": True,
        "is_org_shared": False,
        "user": other,
        "is_user_deleted": False,
        "priority": 0,
    }


def blocks_for(parts: list[tuple[str, str]]) -> list[dict[str, Any]]:
    """rich_text blocks from (kind, value) parts: text, user, channel, link."""
    elements: list[dict[str, Any]] = []
    for kind, value in parts:
        if kind == "text":
            elements.append({"type": "text", "text": value})
        elif kind == "user":
            elements.append({"type": "user", "user_id": value})
        elif kind == "channel":
            elements.append({"type": "channel", "channel_id": value})
        else:
            elements.append({"type": "link", "url": value, "text": value.split("//")[-1]})
    block_id = uuid.uuid4().hex[:5]
    return [
        {"type": "rich_text", "block_id": block_id, "elements": [{"type": "rich_text_section", "elements": elements}]}
    ]


def text_for(parts: list[tuple[str, str]]) -> str:
    out = []
    for kind, value in parts:
        if kind == "text":
            out.append(value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;"))
        elif kind == "user":
            out.append(f"<@{value}>")
        elif kind == "channel":
            out.append(f"<#{value}|>")
        else:
            out.append(f"<{value}>")
    return "".join(out)


def message(uid: str, ts: str, parts: list[tuple[str, str]], *, team: str = TEAM, **extra: Any) -> dict[str, Any]:
    return {
        "user": uid,
        "type": "message",
        "ts": ts,
        "client_msg_id": str(uuid.UUID(int=random.Random(ts).getrandbits(128))),
        "text": text_for(parts),
        "team": team,
        "user_team": team,
        "source_team": team,
        "blocks": blocks_for(parts),
        **extra,
    }


_WORDS = tuple(
    [
        "deploy",
        "review",
        "migration",
        "flaky",
        "test",
        "rollback",
        "staging",
        "latency",
        "p99",
        "cache",
        "index",
        "query",
        "incident",
        "on-call",
        "release",
        "branch",
        "merge",
        "conflict",
        "schema",
        "backfill",
        "dashboard",
        "alert",
        "retry",
        "timeout",
    ]
)


def busy_history(count: int, start: float = 1714557600.0, seed: int = 7) -> list[dict[str, Any]]:
    """`count` realistic messages (oldest first): mentions, links, reactions, threads, edits."""
    rng = random.Random(seed)
    authors = [ALICE, BOB, ALICE, BOB, GINA]
    out = []
    for i in range(count):
        ts = f"{start + i * 97.0:.6f}"
        parts: list[tuple[str, str]] = [("text", " ".join(rng.choice(_WORDS) for _ in range(rng.randint(6, 22))))]
        if i % 4 == 0:
            parts += [("text", " cc "), ("user", rng.choice([ALICE, BOB]))]
        if i % 6 == 0:
            parts += [("text", " see "), ("link", f"https://github.com/acme/api/pull/{1000 + i}")]
        if i % 9 == 0:
            parts += [("text", " in "), ("channel", GENERAL)]
        extra: dict[str, Any] = {}
        if i % 5 == 0:
            extra["reactions"] = [{"name": "eyes", "users": [BOB, ALICE], "count": 2}]
        if i % 8 == 0:
            extra |= {
                "thread_ts": ts,
                "reply_count": 3,
                "reply_users_count": 2,
                "latest_reply": f"{float(ts) + 30:.6f}",
                "reply_users": [ALICE, BOB],
                "is_locked": False,
                "subscribed": False,
            }
        if i % 11 == 0:
            extra["edited"] = {"user": authors[i % 5], "ts": f"{float(ts) + 5:.6f}"}
        out.append(message(authors[i % 5], ts, parts, **extra))
    return out
