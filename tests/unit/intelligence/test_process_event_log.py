"""The audit trail as an event log: readable activity names, order, timestamps (no AWS)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from backoffice.audit import Actor
from backoffice.intelligence import event_log
from backoffice.intelligence.events import parse_timestamp
from backoffice.intelligence.samples import TrailWriter

SYSTEM = Actor.system("validate_opportunity")
APPROVALS = Actor.system("approvals")
LENA = Actor.user("lena.hoffmann@example-firm.com")


def test_work_steps_read_as_step_and_outcome_and_the_frame_reads_on_its_own(
    trail: TrailWriter, at: Callable[[float], datetime]
) -> None:
    # Given a case that starts, validates, is delivered twice, assesses risk and publishes its outcome
    trail.add("c1", at(0), "start case", Actor.system("start_case"), "case.started", "started")
    trail.add("c1", at(0.1), "start case", Actor.system("start_case"), "event.duplicate", "ignored")
    trail.add("c1", at(0.2), "validate closed-won opportunity", SYSTEM, "opportunity.validated", "passed")
    trail.add("c1", at(0.3), "assess contract risk", SYSTEM, "contract.risk_assessed", "none")
    trail.add("c1", at(0.4), "match customer in ERP", SYSTEM, "customer.matched", "blocked")
    trail.add("c1", at(0.5), "publish outcome", SYSTEM, "outcome.published", "Onboarding Blocked")
    # When the trail becomes an event log
    events = event_log(trail.records)
    # Then each activity says what happened in business words
    assert [e.activity for e in events] == [
        "case started",
        "duplicate event ignored",
        "validate closed-won opportunity: passed",
        "assess contract risk: no risk",
        "match customer in ERP: blocked",
        "Onboarding Blocked",
    ]


def test_approvals_are_named_by_level_and_verb_not_by_their_pending_outcome(
    trail: TrailWriter, at: Callable[[float], datetime]
) -> None:
    # Given a two-level legal review: legal approves, then the general counsel's request is reminded and refused once
    def request(hours: float, level: str, index: int, request_id: str) -> None:
        reason = f"{level} (level {index} of 2, rule: high risk): 1 of 1 must approve"
        trail.add(
            "c1", at(hours), "legal review", APPROVALS, "approval.requested", "pending",
            reasons=[reason], data={"request_id": request_id},
        )  # fmt: skip

    request(0, "legal review", 1, "r1")
    trail.add("c1", at(1), "legal review", LENA, "approval.link_viewed", "viewed", data={"request_id": "r1"})
    trail.add(
        "c1", at(2), "legal review", LENA, "approval.decided", "approved",
        data={"request_id": "r1", "level": "legal review"},
    )  # fmt: skip
    request(3, "general counsel sign-off", 2, "r2")
    trail.add(
        "c1", at(4), "legal review", APPROVALS, "approval.reminded", "pending", data={"request_id": "r2"}
    )
    trail.add(
        "c1", at(5), "legal review", Actor.user("ben@example-firm.com"), "approval.refused", "wrong_approver",
        data={"request_id": "r2"},
    )  # fmt: skip
    trail.add(
        "c1", at(6), "legal review", APPROVALS, "approval.expired", "timed_out", data={"request_id": "r2"}
    )
    # When the trail becomes an event log
    events = event_log(trail.records)
    # Then the second level shows as its own stage, with verbs instead of "pending"
    assert [e.activity for e in events] == [
        "legal review: approval requested",
        "legal review: link opened",
        "legal review: approved",
        "general counsel sign-off: approval requested",
        "general counsel sign-off: reminder sent",
        "general counsel sign-off: refused (wrong approver)",
        "general counsel sign-off: timed out",
    ]
    assert events[1].actor == "user:lena.hoffmann@example-firm.com"
    assert events[1].actor_kind == "user"


def test_events_come_in_case_and_chain_order_with_utc_timestamps(
    trail: TrailWriter, at: Callable[[float], datetime]
) -> None:
    # Given records of two cases written interleaved
    trail.add("b-case", at(0), "start case", SYSTEM, "case.started", "started")
    trail.add("a-case", at(1), "start case", SYSTEM, "case.started", "started")
    trail.add("b-case", at(2), "validate closed-won opportunity", SYSTEM, "opportunity.validated", "passed")
    # When the log is built from them in reverse
    events = event_log(reversed(trail.records))
    # Then events are grouped by case, in sequence order, with aware UTC timestamps
    assert [(e.case_id, e.seq) for e in events] == [("a-case", 1), ("b-case", 1), ("b-case", 2)]
    assert all(
        e.timestamp.tzinfo is not None and e.timestamp.utcoffset() == UTC.utcoffset(None) for e in events
    )
    assert events[2].timestamp - events[1].timestamp == at(2) - at(0)


def test_a_naive_or_offset_timestamp_is_read_as_utc() -> None:
    assert parse_timestamp("2026-03-02T10:00:00") == datetime(2026, 3, 2, 10, tzinfo=UTC)
    assert parse_timestamp("2026-03-02T11:00:00+01:00") == datetime(2026, 3, 2, 10, tzinfo=UTC)
    assert parse_timestamp("2026-03-02T10:00:00Z") == datetime(2026, 3, 2, 10, tzinfo=UTC)


def test_another_activity_naming_can_be_passed_in(
    trail: TrailWriter, at: Callable[[float], datetime]
) -> None:
    # Given a step that passed
    trail.add("c1", at(0), "validate closed-won opportunity", SYSTEM, "opportunity.validated", "passed")
    # When the log is built with step-only activities
    [event] = event_log(trail.records, activity=lambda e: e.step)
    # Then the activity is the step alone
    assert event.activity == "validate closed-won opportunity"
