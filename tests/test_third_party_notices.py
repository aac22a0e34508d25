"""THIRD_PARTY_NOTICES.md lists every file under a data/ folder, and each vendored file's notice holds
its upstream licence and copyright line."""

from __future__ import annotations

import fnmatch
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTICES = ROOT / "THIRD_PARTY_NOTICES.md"
#: Where upstream material may live (each `data/` folder below these) and the marks of a licence's text.
TOPS = ("tests", "connectors", "model")
LICENCE_TEXT = {
    "MIT": "Permission is hereby granted, free of charge",
    "Apache License, Version 2.0": "Apache License\n                           Version 2.0, January 2004",
    "PostgreSQL Licence": "Permission to use, copy, modify, and distribute this software and its",
}


def tables(text: str) -> tuple[list[list[str]], list[str]]:
    """(vendored rows: file, upstream, licence, copyright, notice; own patterns) from the document."""
    vendored_part, _, own_part = text.partition("## Written for this project")
    rows = [
        [cell.strip() for cell in line.strip().strip("|").split("|")]
        for line in vendored_part.splitlines()
        if line.startswith("| `")
    ]
    vendored = [[row[0].strip("`"), row[1], row[2], row[3], row[4].strip("`")] for row in rows]
    own = [
        p
        for line in own_part.splitlines()
        if line.startswith("| `")
        for p in re.findall(r"`([^`]+)`", line.split("|")[1])
    ]
    return vendored, own


def data_files(root: Path = ROOT) -> list[str]:
    out = []
    for top in TOPS:
        for path in (root / top).rglob("*"):
            relative = path.relative_to(root)
            if path.is_file() and "data" in relative.parts[:-1] and "__pycache__" not in relative.parts:
                out.append(relative.as_posix())
    return sorted(out)


def unlisted(files: list[str], text: str) -> list[str]:
    vendored, own = tables(text)
    listed = {row[0] for row in vendored} | {row[4] for row in vendored}
    return [f for f in files if f not in listed and not any(fnmatch.fnmatchcase(f, p) for p in own)]


TEXT = NOTICES.read_text()
VENDORED, OWN = tables(TEXT)


def test_every_data_file_is_listed() -> None:
    files = data_files()
    assert len(files) > 30  # the walk does see the data folders
    assert unlisted(files, TEXT) == []
    for pattern in OWN:  # no stale line
        assert any(fnmatch.fnmatchcase(f, pattern) for f in files), pattern


def test_a_new_unlisted_file_is_caught(tmp_path: Path) -> None:
    (tmp_path / "tests" / "connectors" / "jira" / "data").mkdir(parents=True)
    (tmp_path / "tests" / "connectors" / "jira" / "data" / "jira-openapi.json").write_text("{}")
    (tmp_path / "model" / "eval" / "data").mkdir(parents=True)
    (tmp_path / "model" / "eval" / "data" / "tools.json").write_text("{}")
    assert unlisted(data_files(tmp_path), TEXT) == ["tests/connectors/jira/data/jira-openapi.json"]


@pytest.mark.parametrize("row", VENDORED, ids=[row[0] for row in VENDORED])
def test_each_vendored_file_has_its_upstream_notice(row: list[str]) -> None:
    file, _upstream, licence, copyright_line, notice = row
    assert (ROOT / file).is_file(), file
    assert Path(notice).parent == Path(file).parent  # the notice sits beside what it covers
    text = (ROOT / notice).read_text()
    assert copyright_line in text, (notice, copyright_line)
    assert LICENCE_TEXT[licence] in text, (notice, licence)
    assert Path(file).name in text  # it says which file it covers


def test_the_slack_notice_names_upstreams_holder() -> None:
    notice = (ROOT / "tests/connectors/slack/data/LICENSE.slack-api-specs").read_text()
    assert "Copyright (c) 2017 SlackAPI" in notice
    assert "Slack Technologies" not in notice
    # CI and the developers have shared/ beside the clone, with upstream's LICENSE next to the spec.
    upstream = ROOT.parent / "shared" / "specs" / "LICENSE.slack-api-specs"
    if upstream.is_file():
        assert notice.endswith(upstream.read_text())


#: sha256 of https://www.apache.org/licenses/LICENSE-2.0.txt (the text many wheels ship verbatim).
APACHE_2_SHA256 = "cfc7749b96f63bd31c3c42b5c471bf756814053e847c10f3eb003417bc523d30"


def licence_problems(licence: bytes, pyproject: str) -> list[str]:
    """What is wrong with the project's own licence file and its metadata (empty: nothing)."""
    import hashlib
    import tomllib

    problems = []
    if hashlib.sha256(licence).hexdigest() != APACHE_2_SHA256:
        problems.append("LICENSE is not the Apache License 2.0's text as published")
    project = tomllib.loads(pyproject)["project"]
    if project.get("license") != "Apache-2.0":  # PEP 639: an SPDX expression, not a table
        problems.append(f"license = {project.get('license')!r}")
    shipped = project.get("license-files", [])
    for needed in ["LICENSE", "THIRD_PARTY_NOTICES.md"] + [r[4] for r in VENDORED if not r[0].startswith("tests/")]:
        if needed not in shipped:  # a vendored file outside tests/ ships in the wheel: so does its notice
            problems.append(f"license-files lacks {needed}")
    problems += [f"{f} does not exist" for f in shipped if not (ROOT / f).is_file()]
    return problems


def test_the_projects_own_licence_is_the_full_apache_text_and_the_metadata_names_it() -> None:
    licence = (ROOT / "LICENSE").read_bytes()
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert licence_problems(licence, pyproject) == []
    assert LICENCE_TEXT["Apache License, Version 2.0"] in licence.decode()
    assert "[`LICENSE`](LICENSE)" in TEXT
    # and the check bites: an edited text, a licence table, a notice left out of the wheel
    assert licence_problems(licence.replace(b"2004", b"2005"), pyproject)
    assert licence_problems(licence, pyproject.replace('license = "Apache-2.0"', 'license = {text = "Apache-2.0"}'))
    assert licence_problems(licence, pyproject.replace(', "connectors/postgres/data/LICENSE.postgresql.txt"', ""))
