"""Anchoring and verification against anchors, without AWS: an in-memory anchor store, stream records as Lambda
delivers them, and what ``verify_case`` names for each difference between the table and its anchors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from backoffice.audit_anchors import Anchor, AuditStreamEvent, PutOutcome, anchor_stream_records, verify_case
from tests.unit.test_audit_chain import make_chain

CASE = "onboard-006A"
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
WINDOW = timedelta(minutes=15)


class InMemoryAnchors:
    """The store's contract: the first anchor of a (case, seq) is kept, whatever is put after it."""

    def __init__(self) -> None:
        self.kept: dict[tuple[str, int], Anchor] = {}

    def put(self, anchor: Anchor) -> PutOutcome:
        kept = self.kept.setdefault((anchor.case_id, anchor.seq), anchor)
        if kept is anchor:
            return "anchored"
        return "already anchored" if kept.hash == anchor.hash else "conflict"

    def anchors(self, case_id: str) -> dict[int, Anchor]:
        return {seq: a for (case, seq), a in self.kept.items() if case == case_id}


def stream_event(items: list[dict[str, Any]], name: str = "INSERT") -> AuditStreamEvent:
    return AuditStreamEvent.model_validate(
        {
            "Records": [
                {
                    "eventID": str(i),
                    "eventName": name,
                    "dynamodb": {
                        "Keys": {"case_id": item["case_id"], "seq": item["seq"]},
                        "NewImage": item if name != "REMOVE" else None,
                        "SequenceNumber": str(100 + i),
                    },
                }
                for i, item in enumerate(items)
            ]
        }
    )


def anchored(items: list[dict[str, Any]]) -> InMemoryAnchors:
    store = InMemoryAnchors()
    anchor_stream_records(stream_event(items), store, now=NOW)
    return store


def kinds(items: list[dict[str, Any]], store: InMemoryAnchors, now: datetime = NOW) -> list[tuple[int, str]]:
    return [(f.seq, f.kind) for f in verify_case(CASE, items, store.anchors(CASE), now=now, window=WINDOW)]


def test_each_inserted_record_is_anchored_once_and_redelivery_is_harmless() -> None:
    # Given a chain of three records streamed twice (Lambda delivers at least once)
    items = make_chain(3)
    store = InMemoryAnchors()
    first = anchor_stream_records(stream_event(items), store, now=NOW)
    again = anchor_stream_records(stream_event(items), store, now=NOW)
    # Then each record has one anchor, and the second delivery changed nothing
    assert (first.anchored, again.anchored, again.already_anchored) == (3, 0, 3)
    assert sorted(store.anchors(CASE)) == [1, 2, 3]
    assert kinds(items, store) == []


def test_an_in_place_change_is_named_as_tampering_and_does_not_move_the_anchor() -> None:
    # Given anchored records, then a MODIFY and a REMOVE on the append-only table
    items = make_chain(2)
    store = anchored(items)
    changed = dict(items[0], outcome={"S": "approved"})
    modified = anchor_stream_records(stream_event([changed], "MODIFY"), store)
    removed = anchor_stream_records(stream_event([items[1]], "REMOVE"), store)
    # Then both are reported as tampering, and the anchors still hold the records as first written
    assert len(modified.tampering) == 1 and "MODIFY" in modified.tampering[0]
    assert len(removed.tampering) == 1 and "REMOVE" in removed.tampering[0]
    assert store.anchors(CASE)[1].hash == items[0]["hash"]["S"]


def test_a_record_rewritten_after_deletion_is_a_conflict_not_a_new_anchor() -> None:
    # Given record 2 anchored, then deleted and written again with other content (a fresh INSERT)
    items = make_chain(2)
    store = anchored(items)
    forged = make_chain(2, case_id=CASE)[1] | {"hash": {"S": "f" * 64}}
    result = anchor_stream_records(stream_event([forged]), store)
    # Then the anchoring reports the conflict and keeps the first anchor
    assert len(result.conflicts) == 1
    assert store.anchors(CASE)[2].hash == items[1]["hash"]["S"]


def test_differences_from_the_anchors_are_named() -> None:
    # Given five anchored records
    items = make_chain(5)
    store = anchored(items)
    # When the last is cut, record 2 changed and record 3 removed / Then each is named
    tampered = [items[0], dict(items[1], hash={"S": "e" * 64}), items[3]]
    assert kinds(tampered, store) == [(2, "changed"), (3, "removed"), (5, "truncated")]
    # And a case with anchors but no records left is missing
    assert kinds([], store) == [(1, "case missing")]


def test_a_record_without_anchor_is_pending_within_the_window_and_appended_after_it() -> None:
    # Given three anchored records and a fourth that never reached the stream, dated now
    items = make_chain(4)
    store = anchored(items[:3])
    items[3]["timestamp"] = {"S": NOW.isoformat()}
    # Then it is "not yet anchored" within the window and "appended" once the window has passed
    assert kinds(items, store) == [(4, "not yet anchored")]
    assert kinds(items, store, now=NOW + WINDOW + timedelta(seconds=1)) == [(4, "appended")]
    # And a record dated in the future cannot hide in the window
    items[3]["timestamp"] = {"S": (NOW + timedelta(days=1)).isoformat()}
    assert kinds(items, store) == [(4, "appended")]
