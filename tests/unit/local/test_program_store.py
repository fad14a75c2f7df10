"""The state machines' evaluation components kept on disk between processes (local/program_store.py)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from backoffice.local import program_store
from backoffice.local.program_store import program_key, store_program, stored_program


@pytest.fixture(autouse=True)
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "programs"
    monkeypatch.setattr(program_store, "STORE", folder)
    return folder


def test_a_kept_program_is_read_back_equal_and_another_definition_finds_nothing() -> None:
    # Given a definition's components kept
    program = {"states": ["Check", "Approve"], "retries": (2, 1.5)}
    store_program('{"StartAt": "Check"}', program)
    # When the next process asks for that definition and for another
    read = stored_program('{"StartAt": "Check"}')
    other = stored_program('{"StartAt": "Approve"}')
    # Then the first is read back equal (a copy), the second was never kept
    assert read == program and read is not program
    assert other is None


def test_the_key_is_the_definition_and_the_code_that_builds_and_runs_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given the key of one definition
    key = program_key('{"StartAt": "Check"}')
    # Then another definition has another key, and the same definition the same key
    assert program_key('{"StartAt": "Check" }') != key
    assert program_key('{"StartAt": "Check"}') == key
    # And another moto (or ANTLR, Python, or runtime patch) gives another key
    monkeypatch.setattr(program_store.importlib.metadata, "version", lambda name: "0.0.0")
    program_store._environment_digest.cache_clear()
    try:
        assert program_key('{"StartAt": "Check"}') != key
    finally:
        monkeypatch.undo()
        program_store._environment_digest.cache_clear()
    assert program_key('{"StartAt": "Check"}') == key


def test_an_edit_to_the_runtimes_moto_patches_gives_another_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the runtime's modules (some patch how moto builds and runs programs) and a definition's key
    patches = tmp_path / "local"
    patches.mkdir()
    (patches / "distributed_map.py").write_text("ITEM_READER = 'v1'\n")
    monkeypatch.setattr(program_store, "PATCHES", patches)
    program_store._environment_digest.cache_clear()
    key = program_key("definition")
    # When one of them is edited, and the next process opens the store
    (patches / "distributed_map.py").write_text("ITEM_READER = 'v2'\n")
    program_store._environment_digest.cache_clear()
    program_store.open_store()
    # Then the definition has another key: nothing built by the old code is read back
    assert program_key("definition") != key
    program_store._environment_digest.cache_clear()


def test_a_definition_with_a_lone_surrogate_has_a_key_too() -> None:
    # Given a definition whose JSON escapes decode to a lone surrogate (moto then reports the definition invalid)
    # Then the store names it without raising
    assert program_key('{"Comment": "\ud800"}') != program_key('{"Comment": ""}')


def test_a_damaged_file_is_ignored_and_written_over(store: Path) -> None:
    # Given a kept file cut short (a crash while another tool copied it, say)
    store_program("definition", ["components"])
    path = store / f"{program_key('definition')}.pickle"
    path.write_bytes(path.read_bytes()[:5])
    # When it is asked for, then nothing is read (the definition is parsed again)
    assert stored_program("definition") is None
    # And when the components are kept again, they are read back
    store_program("definition", ["components"])
    assert stored_program("definition") == ["components"]


def test_what_cannot_be_kept_is_not_kept_and_raises_nothing(store: Path) -> None:
    # Given components holding something pickle refuses (a generator)
    # When they are kept, then nothing is written and nothing raised
    store_program("definition", {"pending": (n for n in range(3))})
    assert stored_program("definition") is None
    assert not list(store.glob("*.pickle"))


def test_a_partial_write_left_by_a_stopped_process_is_removed_once_old(store: Path) -> None:
    # Given a partial write from a process that stopped an hour ago, and one from a process writing now
    store.mkdir(parents=True)
    (store / "old.partial").write_bytes(b"half")
    os.utime(store / "old.partial", (time.time() - 3600, time.time() - 3600))
    (store / "new.partial").write_bytes(b"half")
    # When a definition is kept
    store_program("definition", ["components"])
    # Then the old partial write is gone, the current one is left to its writer
    assert not (store / "old.partial").exists()
    assert (store / "new.partial").exists()


def test_the_newest_read_are_kept_the_others_removed(store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a store that keeps three definitions, holding three
    monkeypatch.setattr(program_store, "KEEP", 3)
    for n in range(3):
        store_program(f"definition {n}", n)
        path = store / f"{program_key(f'definition {n}')}.pickle"
        os.utime(path, (1_000_000 + n, 1_000_000 + n))
    # When the oldest is read (so it is now the newest) and a fourth is kept
    assert stored_program("definition 0") == 0
    store_program("definition 3", 3)
    # Then the one read least recently is gone, the others are there
    assert stored_program("definition 1") is None
    assert [stored_program(f"definition {n}") for n in (0, 2, 3)] == [0, 2, 3]
