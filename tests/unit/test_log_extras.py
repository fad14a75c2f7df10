"""A log line's ``extra`` keys never name an attribute of Python's LogRecord: logging refuses them with a KeyError
("Attempt to overwrite 'created' in LogRecord") at the first INFO line the level lets through, failing the step."""

from __future__ import annotations

import ast
import logging
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
RESERVED = set(vars(logging.LogRecord("n", logging.INFO, "p", 1, "m", None, None))) | {"message", "asctime"}


def _extra_keys(path: Path) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if not isinstance(node, ast.Call):
            continue
        for keyword in node.keywords:
            if keyword.arg == "extra" and isinstance(keyword.value, ast.Dict):
                found += [
                    (node.lineno, key.value)
                    for key in keyword.value.keys
                    if isinstance(key, ast.Constant) and isinstance(key.value, str)
                ]
    return found


def test_no_log_extra_overwrites_a_log_record_attribute() -> None:
    # Given every handler and every module of the layer
    sources = [*(REPO / "functions").rglob("*.py"), *(REPO / "layers" / "shared" / "python").rglob("*.py")]
    # When their log calls' extra keys are read / Then none is an attribute logging keeps for itself
    clashes = [
        f"{path.relative_to(REPO)}:{line} {key}"
        for path in sources
        for line, key in _extra_keys(path)
        if key in RESERVED
    ]
    assert clashes == []
