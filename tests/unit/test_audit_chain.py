"""The hash chain: what verify_chain reports for intact, edited, removed and inserted records (no AWS)."""

from __future__ import annotations

from typing import Any

from backoffice.audit import GENESIS_HASH, Actor, AuditRecord, _body, _sha256, _to_item, verify_chain


def make_chain(n: int, case_id: str = "onboard-006A") -> list[dict[str, Any]]:
    items, prev = [], GENESIS_HASH
    for seq in range(1, n + 1):
        fields: dict[str, Any] = {
            "case_id": case_id,
            "seq": seq,
            "workflow": "onboarding",
            "step": f"step {seq}",
            "actor": Actor.system("validate_opportunity").model_dump(),
            "action": "opportunity.validated",
            "outcome": "passed",
            "reasons": [f"reason {seq}"],
            "input_digest": None,
            "output_digest": None,
            "data": {"amount": "1250.00", "n": seq},
            "timestamp": f"2026-11-25T10:00:0{seq}.000000+00:00",
            "execution_arn": None,
            "prev_hash": prev,
        }
        record = AuditRecord(**fields, hash=_sha256(_body(fields)))
        items.append(_to_item(record))
        prev = record.hash
    return items


def test_an_intact_chain_verifies() -> None:
    # Given a chain of five records written by the audit helper
    items = make_chain(5)
    # When it is verified
    problems = verify_chain("onboard-006A", items)
    # Then nothing is reported
    assert problems == []


def test_an_edited_record_is_named_as_changed() -> None:
    # Given a chain where someone changed the outcome of record 3 by hand
    items = make_chain(5)
    items[2]["outcome"] = {"S": "approved"}
    # When it is verified
    problems = verify_chain("onboard-006A", items)
    # Then record 3, and only record 3, is named as changed
    assert [(p.seq, p.kind) for p in problems] == [(3, "changed")]


def test_an_edited_reason_is_detected_too() -> None:
    # Given a chain where a reason (stored as JSON text) was rewritten
    items = make_chain(3)
    items[1]["reasons"] = {"S": '["nothing to see"]'}
    # When it is verified / Then record 2 is named
    assert [(p.seq, p.kind) for p in verify_chain("onboard-006A", items)] == [(2, "changed")]


def test_a_removed_record_is_named_by_its_missing_sequence_number() -> None:
    # Given a chain where record 3 was deleted
    items = make_chain(5)
    del items[2]
    # When it is verified
    problems = verify_chain("onboard-006A", items)
    # Then the gap at #3 is reported as a removal
    assert [(p.seq, p.kind) for p in problems] == [(3, "removed")]


def test_a_record_inserted_with_a_valid_own_hash_is_named_as_inserted() -> None:
    # Given a forged record 3 that hashes correctly but was not chained to record 2
    items = make_chain(5)
    forged_fields: dict[str, Any] = {
        "case_id": "onboard-006A",
        "seq": 3,
        "workflow": "onboarding",
        "step": "legal review",
        "actor": Actor.user("mallory@example.com").model_dump(),
        "action": "approval.decided",
        "outcome": "approved",
        "reasons": [],
        "input_digest": None,
        "output_digest": None,
        "data": {},
        "timestamp": "2026-11-25T10:00:03.500000+00:00",
        "execution_arn": None,
        "prev_hash": "f" * 64,
    }
    items[2] = _to_item(AuditRecord(**forged_fields, hash=_sha256(_body(forged_fields))))
    # When it is verified
    problems = verify_chain("onboard-006A", items)
    # Then the forged record is named as inserted (its own hash is fine; its link is not)
    assert (3, "inserted") in [(p.seq, p.kind) for p in problems]


def test_verification_does_not_depend_on_storage_order() -> None:
    # Given the items of an intact chain read back in any order
    items = list(reversed(make_chain(4)))
    # When verified / Then the chain holds
    assert verify_chain("onboard-006A", items) == []
