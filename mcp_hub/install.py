"""How to install an extra: the one place every "not installed" message takes its command from.

The distribution is not on PyPI yet, so installing it by name alone would fail. The two
forms below are the ones the README's install section documents (a checkout, or the repository
pinned to a commit); `tests/core/test_install_hints.py` checks they still appear there, that every
hint in the code comes from here and that every extra named exists in `pyproject.toml`.
"""

from __future__ import annotations

#: The distribution's name (`mcp-hub` on PyPI is another project).
DISTRIBUTION = "mcp-hub-selfhosted"


def install_commands(*extras: str) -> tuple[str, str]:
    """(in a checkout, from the repository) for the extras named."""
    spec = ",".join(extras)
    return f"pip install -e '.[{spec}]'", f"pip install '{DISTRIBUTION}[{spec}] @ git+<repository URL>@<commit>'"


def install_hint(*extras: str) -> str:
    """'install the `x` extra: <checkout command> in a checkout, or <repository command>'."""
    checkout, repository = install_commands(*extras)
    noun = "extra" if len(extras) == 1 else "extras"
    return f"install the `{','.join(extras)}` {noun}: {checkout} in a checkout, or {repository}"
