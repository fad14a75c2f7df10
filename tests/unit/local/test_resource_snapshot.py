"""The runtime restore's deep copy (local/resource_snapshot.py) keeps what moto's stores hold, not what they show."""

from __future__ import annotations

from moto.s3.utils import _VersionedKeyStore

from backoffice.local import resource_snapshot


def test_an_s3_key_written_twice_keeps_both_versions_in_the_copy() -> None:
    # Given moto's store of a bucket's keys, one key with two versions
    store = _VersionedKeyStore()
    store["report.json"] = "first"
    store["report.json"] = "second"
    assert store.getlist("report.json") == ["first", "second"]
    # When the snapshot copies it
    copied = resource_snapshot._deepcopy(store, {})
    # Then the copy holds both versions, the latest last, and is a store of its own
    assert copied.getlist("report.json") == ["first", "second"] and copied["report.json"] == "second"
    copied["report.json"] = "third"
    assert store.getlist("report.json") == ["first", "second"]
