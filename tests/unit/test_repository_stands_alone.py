"""A fresh clone stands alone: nothing in the project reads a folder beside the repository."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
# The parent folder's "shared", written as a relative path or built up from parents (parents[N] / ".." / ...).
OUTSIDE = re.compile(r"\.\./shared|[\"']\.\.[\"']\s*/\s*[\"']shared[\"']|\.parent\s*/\s*[\"']shared[\"']")


def test_no_tracked_file_reads_a_folder_beside_the_repository() -> None:
    # Given every tracked source, build and CI file
    tracked = subprocess.run(
        ["git", "ls-files", "*.py", "Makefile", "*.toml", "*.cfg", ".ci/*", "*.json", "*.sh"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert tracked
    # When each is searched for a path into the folder beside the repository
    readers = [
        f"{name}:{number}"
        for name in tracked
        if name != "tests/unit/test_repository_stands_alone.py" and (REPO / name).is_file()
        for number, line in enumerate((REPO / name).read_text(errors="replace").splitlines(), start=1)
        if OUTSIDE.search(line)
    ]
    # Then none reads it
    assert readers == []


def test_the_fixtures_the_tests_read_are_in_the_repository_with_their_sources() -> None:
    # Given the fixture folders
    textract = REPO / "tests" / "fixtures" / "textract"
    w9 = REPO / "layers/shared/python/backoffice/local/data/irs-fw9-rev-2018-10-blank.pdf"
    # Then each holds its files and a SOURCES.md naming every one of them
    responses = sorted(path.name for path in textract.glob("*.json"))
    assert len(responses) == 8
    sources = (textract / "SOURCES.md").read_text()
    assert all(name in sources for name in responses)
    assert w9.is_file() and w9.name in (w9.parent / "SOURCES.md").read_text()
