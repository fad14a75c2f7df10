"""Process metrics over hand-written trails, each checked against figures worked out by hand (no AWS)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime

import pytest

from backoffice.audit import Actor
from backoffice.intelligence import (
    ai_agreement,
    approval_turnaround,
    billing_lag,
    build_report,
    case_summaries,
    cash_freed,
    cycle_times,
    dso,
    event_log,
    exceptions,
    first_pass_yield,
    lockup,
    process_maps,
    rework,
    scorer_agreement,
    to_json,
    waits,
)
from backoffice.intelligence.samples import TrailWriter, sample_records

HOUR = 3600.0
START = Actor.system("start_case")
STEP = Actor.system("a_step")
APPROVALS = Actor.system("approvals")
PUBLISH = Actor.system("publish_outcome")
OPS = Actor.user("sam.ortiz@example-firm.com")

Clock = Callable[[float], datetime]


def start(trail: TrailWriter, at: Clock, case: str, hours: float = 0) -> None:
    trail.add(case, at(hours), "start case", START, "case.started", "started")


def step(
    trail: TrailWriter, at: Clock, case: str, hours: float, name: str, action: str, outcome: str, **kw: object
) -> None:
    trail.add(case, at(hours), name, STEP, action, outcome, **kw)  # type: ignore[arg-type]


def publish(
    trail: TrailWriter,
    at: Clock,
    case: str,
    hours: float,
    outcome: str = "Project Onboarded",
    reason: str = "",
) -> None:
    trail.add(
        case,
        at(hours),
        "publish outcome",
        PUBLISH,
        "outcome.published",
        outcome,
        reasons=[reason] if reason else [],
    )


def request(
    trail: TrailWriter, at: Clock, case: str, hours: float, request_id: str, level: str = "legal review"
) -> None:
    trail.add(
        case, at(hours), "legal review", APPROVALS, "approval.requested", "pending",
        reasons=[f"{level} (level 1 of 2, rule: risk): 1 of 1 must approve"], data={"request_id": request_id},
    )  # fmt: skip


def decide(
    trail: TrailWriter,
    at: Clock,
    case: str,
    hours: float,
    request_id: str,
    who: str,
    outcome: str,
    level: str = "legal review",
) -> None:
    trail.add(
        case, at(hours), "legal review", Actor.user(who), "approval.decided", outcome,
        data={"request_id": request_id, "level": level},
    )  # fmt: skip


# -- cycle time -------------------------------------------------------------------------------------------------


def test_cycle_time_has_median_and_p90_of_closed_cases_and_counts_open_ones_apart(
    trail: TrailWriter, at: Clock
) -> None:
    # Given three cases closed after 1 h, 2 h (blocked) and 4 h, one still open, and one rejected event
    for case in ("c1", "c2", "c3"):
        start(trail, at, case)
        step(trail, at, case, 0.5, "validate closed-won opportunity", "opportunity.validated", "passed")
    publish(trail, at, "c1", 1)
    publish(trail, at, "c2", 2, "Onboarding Blocked", "StatementOfWorkMissing: no SOW")
    publish(trail, at, "c3", 4)
    start(trail, at, "c4")
    step(trail, at, "c4", 1, "validate closed-won opportunity", "opportunity.validated", "passed")
    trail.add(
        "rejected-e1", at(3), "start case", START, "event.rejected", "rejected", reasons=["bad currency"]
    )
    # When cycle times are computed (as of the newest record, 4 h)
    [cycle] = cycle_times(case_summaries(event_log(trail.records)))
    # Then the median is 2 h and p90 is 2 h + 0.8 x (4 h - 2 h) = 3.6 h, over the three closed cases
    assert (cycle.workflow, cycle.cases, cycle.closed, cycle.open) == ("onboarding", 4, 3, 1)
    assert cycle.stats is not None
    assert (cycle.stats.count, cycle.stats.median, cycle.stats.p90) == (3, 2 * HOUR, 3.6 * HOUR)
    assert (cycle.stats.min, cycle.stats.max) == (1 * HOUR, 4 * HOUR)
    # And per outcome, and the open case's age (4 h since it started)
    assert cycle.by_outcome["Project Onboarded"].median == 2.5 * HOUR
    assert cycle.by_outcome["Onboarding Blocked"].count == 1
    assert cycle.open_age is not None and cycle.open_age.max == 4 * HOUR
    assert sorted(cycle.durations) == [1 * HOUR, 2 * HOUR, 4 * HOUR]


def test_a_resumed_case_ends_at_its_last_outcome_and_is_open_until_then(
    trail: TrailWriter, at: Clock
) -> None:
    # Given a case blocked after 1 h, resumed at 5 h and onboarded at 6 h, and one resumed and still running
    for case in ("done", "running"):
        start(trail, at, case)
        publish(trail, at, case, 1, "Onboarding Blocked", "StatementOfWorkMissing: no SOW")
    trail.add("done", at(5), "resume case", OPS, "case.resumed", "started", reasons=["SOW attached"])
    publish(trail, at, "done", 6)
    trail.add("running", at(2), "resume case", OPS, "case.resumed", "started", reasons=["SOW attached"])
    # When the cases are summarized (as of 6 h)
    done, running = case_summaries(event_log(trail.records))
    # Then the first closed onboarded after 6 h, the second is open, 6 h old
    assert (done.case_id, done.closed, done.outcome, done.succeeded, done.cycle_seconds) == (
        "done", True, "Project Onboarded", True, 6 * HOUR,
    )  # fmt: skip
    assert (running.case_id, running.closed, running.outcome, running.age_seconds) == (
        "running",
        False,
        None,
        6 * HOUR,
    )


# -- approvals --------------------------------------------------------------------------------------------------


def test_approval_turnaround_per_step_level_and_approver(trail: TrailWriter, at: Clock) -> None:
    # Given legal approving in 3 h then the general counsel in 5 h, another legal rejection in 1 h,
    # one request still pending and one that expired
    for case in ("c1", "c2", "c3", "c4"):
        start(trail, at, case)
    request(trail, at, "c1", 0, "r1")
    decide(trail, at, "c1", 3, "r1", "lena@example-firm.com", "approved")
    request(trail, at, "c1", 3, "r2", "general counsel sign-off")
    decide(trail, at, "c1", 8, "r2", "grace@example-firm.com", "approved", "general counsel sign-off")
    request(trail, at, "c2", 0, "r3")
    decide(trail, at, "c2", 1, "r3", "omar@example-firm.com", "rejected")
    request(trail, at, "c3", 0, "r4")
    request(trail, at, "c4", 0, "r5")
    trail.add(
        "c4", at(48), "legal review", APPROVALS, "approval.expired", "timed_out", data={"request_id": "r5"}
    )
    # When turnaround is computed
    result = approval_turnaround(event_log(trail.records))
    # Then each decision counts once, from its own request
    assert (result.requests, result.decisions, result.pending, result.expired) == (5, 3, 1, 1)
    assert result.overall is not None and result.overall.median == 3 * HOUR
    by_level = {g.key: g for g in result.by_level}
    assert by_level["legal review"].stats.median == 2 * HOUR  # 3 h and 1 h
    assert (by_level["legal review"].approved, by_level["legal review"].rejected) == (1, 1)
    assert by_level["general counsel sign-off"].stats.median == 5 * HOUR
    by_approver = {g.key: g.stats.median for g in result.by_approver}
    assert by_approver == {
        "lena@example-firm.com": 3 * HOUR,
        "grace@example-firm.com": 5 * HOUR,
        "omar@example-firm.com": 1 * HOUR,
    }
    [legal] = result.by_step
    assert (legal.key, legal.decisions, legal.stats.median) == ("legal review", 3, 3 * HOUR)


def test_a_request_whose_mail_bounced_and_escalated_is_neither_pending_nor_expired(
    trail: TrailWriter, at: Clock
) -> None:
    # Given legal's request whose mail bounced, escalated at once to the general counsel, who approved
    start(trail, at, "b1")
    request(trail, at, "b1", 0, "r1")
    trail.add(
        "b1", at(0.1), "legal review", Actor.system("ses"), "approval.undeliverable", "escalating",
        data={"request_id": "r1", "level": "legal review"},
    )  # fmt: skip
    request(trail, at, "b1", 0.2, "r2", "general counsel sign-off")
    decide(trail, at, "b1", 2.2, "r2", "grace@example-firm.com", "approved", "general counsel sign-off")
    # When turnaround is computed
    result = approval_turnaround(event_log(trail.records))
    # Then the bounced request is closed without counting as an expiry, and the escalated one was decided
    assert (result.requests, result.decisions, result.pending, result.expired) == (2, 1, 0, 0)


# -- exceptions, first-pass yield, rework -----------------------------------------------------------------------


def test_exception_rate_by_rule_counts_each_blocking_error_once_per_case(
    trail: TrailWriter, at: Clock
) -> None:
    # Given a missing SOW (the step and the outcome both say so), a lost deal, a refused link, an expired approval,
    # an ERP error that passed on retry, a clean case, a rejected event and a refusal with no case
    missing = "StatementOfWorkMissing: opportunity 006A has no SOW"
    start(trail, at, "a")
    step(trail, at, "a", 1, "fetch statement of work", "sow.fetched", "blocked", reasons=[missing])
    publish(trail, at, "a", 2, "Onboarding Blocked", missing)
    start(trail, at, "b")
    step(
        trail,
        at,
        "b",
        1,
        "validate closed-won opportunity",
        "opportunity.validated",
        "blocked",
        reasons=["not won"],
    )
    publish(trail, at, "b", 2, "Onboarding Blocked", "OpportunityNotOnboardable: not won")
    start(trail, at, "c")
    request(trail, at, "c", 1, "rc")
    trail.add(
        "c",
        at(2),
        "legal review",
        Actor.user("ben@x.com"),
        "approval.refused",
        "wrong_approver",
        data={"request_id": "rc"},
    )
    decide(trail, at, "c", 3, "rc", "lena@x.com", "approved")
    publish(trail, at, "c", 4)
    start(trail, at, "d")
    request(trail, at, "d", 1, "rd")
    trail.add(
        "d", at(49), "legal review", APPROVALS, "approval.expired", "escalating", data={"request_id": "rd"}
    )
    publish(trail, at, "d", 50)
    start(trail, at, "e")
    publish(trail, at, "e", 1)
    start(trail, at, "f")
    step(
        trail,
        at,
        "f",
        1,
        "match customer in ERP",
        "customer.created",
        "blocked",
        reasons=["ConnectorUnavailable: 503"],
    )
    step(trail, at, "f", 2, "match customer in ERP", "customer.created", "created")
    publish(trail, at, "f", 3)
    trail.add(
        "rejected-1", at(1), "start case", START, "event.rejected", "rejected", reasons=["bad currency"]
    )
    trail.add(
        "approval-refusals",
        at(1),
        "decision endpoint",
        Actor.system("anonymous"),
        "approval.refused",
        "unknown",
        workflow="approvals",
    )
    # When exceptions are counted
    result = exceptions(event_log(trail.records))
    # Then 6 of the 7 cases (all but "e") met one, each rule once; the caseless refusal is an occurrence only
    assert (result.cases, result.cases_with_exception, result.rate) == (7, 6, 6 / 7)
    rules = {r.rule: (r.cases, r.occurrences) for r in result.rules}
    assert rules == {
        "blocked: StatementOfWorkMissing": (1, 1),
        "blocked: OpportunityNotOnboardable": (1, 1),
        "approval refused: wrong approver": (1, 1),
        "approval expired, escalating": (1, 1),
        "blocked: ConnectorUnavailable": (1, 1),
        "event rejected": (1, 1),
        "approval refused: unknown": (0, 1),
    }
    first = next(r for r in result.rules if r.rule == "blocked: StatementOfWorkMissing")
    assert first.example == missing and first.share_of_cases == 1 / 7


def test_first_pass_yield_excludes_exceptions_rework_and_manual_edits_but_not_approvals(
    trail: TrailWriter, at: Clock
) -> None:
    # Given a clean case, one delivered twice, one approved by a person, one corrected by hand,
    # one that validated twice, and one blocked
    for case in ("clean", "duplicate", "approved", "edited", "reworked", "blocked"):
        start(trail, at, case)
    trail.add("duplicate", at(0.1), "start case", START, "event.duplicate", "ignored")
    request(trail, at, "approved", 1, "r1")
    decide(trail, at, "approved", 2, "r1", "lena@x.com", "approved")
    trail.add("edited", at(1), "match customer in ERP", OPS, "customer.corrected", "corrected")
    for hours in (1, 2):
        step(
            trail, at, "reworked", hours, "validate closed-won opportunity", "opportunity.validated", "passed"
        )
    publish(trail, at, "blocked", 1, "Onboarding Blocked", "CustomerNeedsReview: near match")
    # When first-pass yield is computed
    result = first_pass_yield(case_summaries(event_log(trail.records)))
    # Then 3 of 6 went through untouched
    assert (result.cases, result.first_pass, result.rate) == (6, 3, 0.5)


def test_rework_counts_work_done_again_after_a_resume_but_not_follow_ups(
    trail: TrailWriter, at: Clock
) -> None:
    # Given a case blocked on its SOW and resumed (8 events), and one whose approver opened the link twice
    # and was reminded twice (8 events)
    start(trail, at, "r")
    step(trail, at, "r", 1, "validate closed-won opportunity", "opportunity.validated", "passed")
    step(
        trail,
        at,
        "r",
        2,
        "fetch statement of work",
        "sow.fetched",
        "blocked",
        reasons=["StatementOfWorkMissing: x"],
    )
    publish(trail, at, "r", 3, "Onboarding Blocked", "StatementOfWorkMissing: x")
    trail.add("r", at(4), "resume case", OPS, "case.resumed", "started", reasons=["attached"])
    step(trail, at, "r", 5, "validate closed-won opportunity", "opportunity.validated", "passed")
    step(trail, at, "r", 6, "fetch statement of work", "sow.fetched", "found")
    publish(trail, at, "r", 7)
    start(trail, at, "s")
    request(trail, at, "s", 1, "rs")
    for hours in (2, 3):
        trail.add(
            "s",
            at(hours),
            "legal review",
            APPROVALS,
            "approval.reminded",
            "pending",
            data={"request_id": "rs"},
        )
        trail.add(
            "s",
            at(hours + 0.5),
            "legal review",
            Actor.user("lena@x.com"),
            "approval.link_viewed",
            "viewed",
            data={"request_id": "rs"},
        )
    decide(trail, at, "s", 4, "rs", "lena@x.com", "approved")
    publish(trail, at, "s", 5)
    # When rework is counted
    result = rework(event_log(trail.records))
    # Then validate, fetch and publish were each done once more (3 of 16 events), all in case "r"
    assert (result.rework, result.activities, result.rate, result.cases_with_rework) == (3, 16, 3 / 16, 1)
    assert sorted((i.stage, i.action, i.repeats) for i in result.items) == [
        ("fetch statement of work", "sow.fetched", 1),
        ("publish outcome", "outcome.published", 1),
        ("validate closed-won opportunity", "opportunity.validated", 1),
    ]


# -- billing lag, waits, process map ----------------------------------------------------------------------------


def test_billing_lag_is_days_from_the_billed_periods_end_to_posting(trail: TrailWriter, at: Clock) -> None:
    # Given February's invoices posted on 3 March and on 13 March, and a draft that carries the period too
    post = Actor.system("post_invoice")
    march_3 = datetime.fromisoformat("2026-03-03T10:00:00+00:00")
    march_13 = datetime.fromisoformat("2026-03-13T10:00:00+00:00")
    period = {"period_start": "2026-02-01", "period_end": "2026-02-28"}
    trail.add(
        "i1",
        march_3,
        "post invoice in ERP",
        post,
        "invoice.posted",
        "posted",
        workflow="invoicing",
        data=period,
    )
    trail.add(
        "i2",
        march_13,
        "post invoice in ERP",
        post,
        "invoice.posted",
        "posted",
        workflow="invoicing",
        data=period,
    )
    trail.add(
        "i3",
        march_3,
        "draft invoice in ERP",
        post,
        "invoice.drafted",
        "drafted",
        workflow="invoicing",
        data=period,
    )
    # When billing lag is computed
    lag = billing_lag(event_log(trail.records))
    # Then it is 3 and 13 days (28 February to 3 and 13 March): 8 at the median, over the two posted invoices
    assert lag.available and lag.items == 2
    assert lag.stats is not None and (lag.stats.median, lag.stats.max) == (8.0, 13.0)


def test_scorer_agreement_is_what_reviewers_confirm_of_what_the_scorer_sent_per_rule_and_month(
    trail: TrailWriter, at: Clock
) -> None:
    # Given three settled exception reviews: two of October's run, one of November's
    settle = Actor.system("settle_exception_review")
    for case, period, decisions in (
        (
            "b1-P1",
            "2026-10-01",
            {"TE3": {"confirmed": 1, "cleared": 3}, "TE4": {"confirmed": 2, "cleared": 0}},
        ),
        ("b1-P2", "2026-10-01", {"TE3": {"confirmed": 1, "cleared": 1}}),
        ("b2-P1", "2026-11-01", {"TE3": {"confirmed": 2, "cleared": 0}}),
    ):
        trail.add(case, at(0), "settle exception review", settle, "exceptions.settled", "approved",
                  workflow="invoicing", data={"period_start": period, "decisions_by_rule": decisions})  # fmt: skip
    # When the scorer's agreement with the reviewers is computed
    agreement = scorer_agreement(event_log(trail.records))
    # Then each rule and billing month has its own figures, and the whole is 6 confirmed of 10 decided
    rows = [(r.rule, r.month, r.decided, r.confirmed, r.agreement) for r in agreement.by_rule]
    assert rows == [
        ("TE3", "2026-10", 6, 2, pytest.approx(2 / 6)),
        ("TE3", "2026-11", 2, 2, 1.0),
        ("TE4", "2026-10", 2, 2, 1.0),
    ]
    assert (agreement.available, agreement.decided, agreement.confirmed) == (True, 10, 6)
    assert build_report(trail.records).scorer_agreement == agreement


def test_ai_agreement_is_how_often_the_next_decision_went_the_way_a_suggestion_pointed(
    trail: TrailWriter, at: Clock
) -> None:
    # Given three contracts: clauses flagged then rejected (agreed), flagged then approved, nothing flagged then
    # approved (agreed); each with the approval's summary; and a fourth whose clauses Bedrock could not read
    local, haiku = Actor.ai("local-rules"), Actor.ai("anthropic.claude-3-haiku-20240307-v1:0")
    legal = Actor.user("lena.hoffmann@example-firm.com")
    for case, who, flagged, decision in (
        ("c1", haiku, "flagged", "rejected"),
        ("c2", haiku, "flagged", "approved"),
        ("c3", haiku, "standard", "approved"),
    ):
        model = who.id
        trail.add(case, at(0), "assess contract risk", who, "ai.suggested", flagged,
                  data={"use": "clause_detection", "model_id": model})  # fmt: skip
        trail.add(case, at(1), "legal review", local, "ai.suggested", "summarized",
                  data={"use": "approval_summary", "model_id": "local-rules"})  # fmt: skip
        trail.add(case, at(5), "legal review", legal, "approval.decided", decision)
    trail.add("c4", at(0), "assess contract risk", local, "ai.suggested", "standard",
              data={"use": "clause_detection", "model_id": "local-rules", "fallback_reason": "throttled"})  # fmt: skip

    # When the agreement is computed
    agreement = ai_agreement(event_log(trail.records))

    # Then per use and model: 2 of 3 clause suggestions agreed with; summaries point no way (no agreement), all
    # followed by a decision; the fallback is counted and, undecided, not in the agreement
    rows = {(r.use, r.model): r for r in agreement.by_use}
    clauses = rows[("clause_detection", "anthropic.claude-3-haiku-20240307-v1:0")]
    assert (clauses.suggestions, clauses.decided, clauses.flagged, clauses.agreed) == (3, 3, 2, 2)
    assert clauses.agreement == pytest.approx(2 / 3) and clauses.approved == 2
    summaries = rows[("approval_summary", "local-rules")]
    assert (summaries.suggestions, summaries.decided, summaries.agreement) == (3, 3, None)
    fallback = rows[("clause_detection", "local-rules")]
    assert (fallback.suggestions, fallback.decided, fallback.fallbacks, fallback.agreement) == (1, 0, 1, None)
    assert agreement.available and agreement.suggestions == 7
    assert build_report(trail.records).ai_agreement == agreement


def test_scorer_agreement_is_not_available_before_any_review_is_settled(
    trail: TrailWriter, at: Clock
) -> None:
    start(trail, at, "c1")
    agreement = scorer_agreement(event_log(trail.records))
    assert (agreement.available, agreement.agreement, agreement.by_rule) == (False, None, [])
    assert agreement.note.startswith("n/a")


def test_billing_lag_is_not_available_without_work_and_invoice_dates(trail: TrailWriter, at: Clock) -> None:
    start(trail, at, "c1")
    lag = billing_lag(event_log(trail.records))
    assert (lag.available, lag.stats) == (False, None)
    assert lag.note.startswith("n/a")


def test_waits_are_charged_to_the_step_that_ends_them_and_open_cases_show_their_current_wait(
    trail: TrailWriter, at: Clock
) -> None:
    # Given a case that waits 10 h for legal (a duplicate delivery arriving meanwhile) and one that stopped at 1 h
    start(trail, at, "w")
    step(trail, at, "w", 0.1, "validate closed-won opportunity", "opportunity.validated", "passed")
    request(trail, at, "w", 0.2, "rw")
    trail.add("w", at(0.3), "start case", START, "event.duplicate", "ignored")
    decide(trail, at, "w", 10.2, "rw", "lena@x.com", "approved")
    publish(trail, at, "w", 10.3)
    start(trail, at, "o")
    step(trail, at, "o", 1, "validate closed-won opportunity", "opportunity.validated", "passed")
    # When waits are computed (as of 10.3 h)
    result = waits(event_log(trail.records))
    # Then legal review holds 10.1 h of the 10.3 h + 1 h waited, the duplicate is stepped over
    by_stage = {g.stage: g for g in result.by_stage}
    assert by_stage["legal review"].total_seconds == pytest.approx(10.1 * HOUR)
    assert by_stage["legal review"].waits == 2
    assert by_stage["legal review"].share == pytest.approx(10.1 / 11.3)
    assert by_stage["validate closed-won opportunity"].total_seconds == pytest.approx(1.1 * HOUR)
    assert by_stage["publish outcome"].total_seconds == pytest.approx(0.1 * HOUR)
    assert result.by_stage[0].stage == "legal review"
    top = result.top[0]
    assert (top.case_id, top.before, top.after, top.seconds) == (
        "w", "legal review: approved", "legal review: approval requested", pytest.approx(10 * HOUR),
    )  # fmt: skip
    [now] = result.waiting_now
    assert (now.case_id, now.before, now.after, now.seconds) == (
        "o", None, "validate closed-won opportunity: passed", pytest.approx(9.3 * HOUR),
    )  # fmt: skip


def test_the_process_map_counts_directly_follows_transitions_starts_ends_and_variants(
    trail: TrailWriter, at: Clock
) -> None:
    # Given two cases that validate and onboard, and one blocked at validation
    for case in ("c1", "c2"):
        start(trail, at, case)
        step(trail, at, case, 1, "validate closed-won opportunity", "opportunity.validated", "passed")
        publish(trail, at, case, 3)
    start(trail, at, "c3")
    step(trail, at, "c3", 1, "validate closed-won opportunity", "opportunity.validated", "blocked")
    publish(trail, at, "c3", 2, "Onboarding Blocked", "OpportunityNotOnboardable: lost")
    # When the map is built
    [pm] = process_maps(event_log(trail.records))
    # Then edges carry how often one activity directly followed the other, and the median time between them
    edges = {(e.source, e.target): (e.count, e.median_seconds) for e in pm.edges}
    assert edges == {
        ("case started", "validate closed-won opportunity: passed"): (2, 1 * HOUR),
        ("validate closed-won opportunity: passed", "Project Onboarded"): (2, 2 * HOUR),
        ("case started", "validate closed-won opportunity: blocked"): (1, 1 * HOUR),
        ("validate closed-won opportunity: blocked", "Onboarding Blocked"): (1, 1 * HOUR),
    }
    assert pm.starts == {"case started": 3}
    assert pm.ends == {"Project Onboarded": 2, "Onboarding Blocked": 1}
    nodes = {n.activity: n for n in pm.nodes}
    assert (nodes["case started"].events, nodes["case started"].mean_position) == (3, 0.0)
    assert nodes["Onboarding Blocked"].category == "exception"
    assert nodes["Project Onboarded"].category == "success"
    assert (pm.variants[0].cases, pm.variants[0].share) == (2, 2 / 3)
    assert pm.variants[0].activities == [
        "case started",
        "validate closed-won opportunity: passed",
        "Project Onboarded",
    ]


# -- finance and the whole report -------------------------------------------------------------------------------


def test_dso_matches_the_domain_test_vector() -> None:
    # 50,000 receivables / 200,000 credit sales x 365 days = 91.25 days
    assert dso(50_000, 200_000, 365) == 91.25


def test_cash_freed_and_lockup() -> None:
    # Cutting DSO by 10 days on 3,650,000 of yearly revenue frees 100,000
    assert cash_freed(10, 3_650_000) == 100_000
    assert lockup(wip_days=35, debtor_days=91.25) == 126.25


def test_dso_refuses_a_period_without_sales() -> None:
    with pytest.raises(ValueError, match="credit sales must be positive"):
        dso(50_000, 0, 365)


def test_the_report_is_the_same_for_the_same_records_and_reads_back_as_json() -> None:
    # Given the synthetic month of cases
    records = sample_records()
    # When the report is built twice and serialized
    first, second = to_json(build_report(records)), to_json(build_report(list(reversed(records))))
    # Then both are the same document, with every section a machine needs
    assert first == second
    document = json.loads(first)
    assert document["cases"] == len({r.case_id for r in records}) - 1  # all but the refusal sink
    assert {w["workflow"] for w in document["workflows"]} == {"onboarding", "invoicing"}
    assert document["billing_lag"]["available"] is True
    assert document["exceptions"]["rate"] == pytest.approx(
        document["exceptions"]["cases_with_exception"] / document["exceptions"]["cases"]
    )
    for key in ("approvals", "first_pass", "rework", "waits", "process_maps", "case_summaries"):
        assert document[key]


def test_the_sample_trail_is_hash_chained_like_the_real_one() -> None:
    records = sample_records(cases=8, invoices=2)
    assert all(r.computed_hash() == r.hash for r in records)
    by_case: dict[str, list[str]] = {}
    for r in records:
        chain = by_case.setdefault(r.case_id, [])
        assert r.seq == len(chain) + 1 and r.prev_hash == (chain[-1] if chain else "0" * 64)
        chain.append(r.hash)


def test_an_empty_trail_gives_an_empty_report() -> None:
    report = build_report([])
    assert (report.cases, report.events, report.exceptions.rate, report.first_pass.rate) == (0, 0, None, None)
