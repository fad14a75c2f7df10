"""A synthetic month of audit trails, for previewing the report and for its tests (``backoffice report --sample``).

The onboarding trails have the shapes the real handlers write (steps, actions, outcomes, approval data); the
invoicing trails are illustrative, there to show billing lag: their ``invoice.posted`` records carry the billed
period (``data.period_end``). ``sample_firm`` builds the six months of a whole firm the report's ``--sample`` shows. Records are hash-chained like the real trail, so ``verify_chain``
accepts them. The same seed always gives the same records.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from backoffice.audit import GENESIS_HASH, Actor, AuditRecord

SAMPLE_START = datetime(2026, 3, 2, 8, 30, tzinfo=UTC)

LEGAL = ("lena.hoffmann@example-firm.com", "omar.haddad@example-firm.com")
GENERAL_COUNSEL = "grace.okafor@example-firm.com"
HEAD_OF_LEGAL = "priya.raman@example-firm.com"
OPERATIONS = "sam.ortiz@example-firm.com"
PARTNERS = ("jonas.weber@example-firm.com", "amara.diallo@example-firm.com")


@dataclass
class TrailWriter:
    """Appends hash-chained records per case, the way ``AuditTrail.append`` does, in memory."""

    records: list[AuditRecord] = field(default_factory=list)
    _heads: dict[str, AuditRecord] = field(default_factory=dict)

    def add(
        self,
        case_id: str,
        at: datetime,
        step: str,
        actor: Actor,
        action: str,
        outcome: str,
        *,
        workflow: str = "onboarding",
        reasons: Iterable[str] = (),
        data: Mapping[str, Any] | None = None,
    ) -> AuditRecord:
        head = self._heads.get(case_id)
        record = AuditRecord(
            case_id=case_id,
            seq=head.seq + 1 if head else 1,
            workflow=workflow,
            step=step,
            actor=actor,
            action=action,
            outcome=outcome,
            reasons=tuple(reasons),
            data=dict(data or {}),
            timestamp=at.astimezone(UTC).isoformat(timespec="microseconds"),
            prev_hash=head.hash if head else GENESIS_HASH,
            hash="",
        )
        record = record.model_copy(update={"hash": record.computed_hash()})
        self._heads[case_id] = record
        self.records.append(record)
        return record


Clock = Callable[[datetime, float], datetime]


def wall_clock(start: datetime, hours: float) -> datetime:
    """``hours`` later, nights and weekends included (the short sample's people answer at any hour)."""
    return start + timedelta(hours=hours)


@dataclass
class SampleCase:
    writer: TrailWriter
    rng: random.Random
    case_id: str
    at: datetime
    workflow: str = "onboarding"
    # When a person's answer lands, ``hours`` of their time after a moment: ``sample_firm`` counts office hours.
    clock: Clock = wall_clock

    def system(
        self,
        step: str,
        function: str,
        action: str,
        outcome: str,
        seconds: tuple[float, float] = (0.3, 3.0),
        **kw: Any,
    ) -> None:
        self.at += timedelta(seconds=self.rng.uniform(*seconds))
        self.writer.add(
            self.case_id, self.at, step, Actor.system(function), action, outcome, workflow=self.workflow, **kw
        )

    def person(
        self, step: str, who: str, action: str, outcome: str, hours: tuple[float, float], **kw: Any
    ) -> None:
        self.at = self.clock(self.at, self.rng.uniform(*hours))
        self.writer.add(
            self.case_id, self.at, step, Actor.user(who), action, outcome, workflow=self.workflow, **kw
        )

    def publish(self, outcome: str, reasons: Iterable[str] = ()) -> None:
        self.system("publish outcome", "publish_outcome", "outcome.published", outcome, reasons=reasons)


def _start(case: SampleCase, rule: str = "opportunity_closed_won") -> None:
    case.writer.add(
        case.case_id,
        case.at,
        "start case",
        Actor.system("start_case"),
        "case.started",
        "started",
        workflow=case.workflow,
        reasons=[f"event matched rule {rule}"],
        data={"rule": rule},
    )


def _intake(case: SampleCase, risk: str) -> None:
    case.system("validate closed-won opportunity", "validate_opportunity", "opportunity.validated", "passed")
    case.system("fetch statement of work", "fetch_statement_of_work", "sow.fetched", "found")
    case.system("read statement of work", "read_statement_of_work", "sow.read", "read", seconds=(2, 12))
    case.system("assess contract risk", "assess_contract_risk", "contract.risk_assessed", risk)


def _setup(case: SampleCase, existing: bool) -> None:
    if existing:
        case.system("match customer in ERP", "match_customer", "customer.matched", "existing", seconds=(1, 8))
    else:
        case.system("match customer in ERP", "match_customer", "customer.created", "created", seconds=(1, 8))
    case.system("create project in PSA", "create_project", "project.created", "created", seconds=(1, 6))
    case.system("request staffing", "request_staffing", "staffing.requested", "requested", seconds=(1, 4))
    case.publish("Project Onboarded")


def _approve(
    case: SampleCase,
    level: str,
    index: int,
    count: int,
    approver: str,
    decision: str,
    hours: tuple[float, float],
    *,
    comment: str = "",
    escalated: bool = False,
    remind_after: float = 24.0,
    stray: str | None = None,
) -> None:
    request_id = f"{case.case_id}-{index}{'e' if escalated else ''}"
    case.system(
        "legal review",
        "approvals",
        "approval.escalated" if escalated else "approval.requested",
        "pending",
        reasons=[f"{level} (level {index + 1} of {count}, rule: contract risk): 1 of 1 must approve"],
        data={"request_id": request_id, "approvers": [approver], "quorum": 1},
    )
    waited = case.rng.uniform(*hours)
    requested_at = case.at
    if waited > remind_after:
        case.at = requested_at + timedelta(hours=remind_after)
        case.writer.add(
            case.case_id,
            case.at,
            "legal review",
            Actor.system("approvals"),
            "approval.reminded",
            "pending",
            reasons=[f"still waiting for {approver}; earlier links replaced"],
            data={"request_id": request_id},
        )
    if stray:
        case.at = case.clock(requested_at, waited * 0.5)
        case.writer.add(
            case.case_id,
            case.at,
            "legal review",
            Actor.user(stray),
            "approval.refused",
            "wrong_approver",
            reasons=[f"{stray} used {approver}'s link"],
            data={"request_id": request_id, "link_owner": approver},
        )
    case.at = max(case.at, case.clock(requested_at, waited))
    case.writer.add(
        case.case_id,
        case.at,
        "legal review",
        Actor.user(approver),
        "approval.link_viewed",
        "viewed",
        data={"request_id": request_id, "channel": "email"},
    )
    case.person(
        "legal review",
        approver,
        "approval.decided",
        "approved" if decision == "approve" else "rejected",
        (0.01, 0.15),
        reasons=[comment] if comment else [],
        data={"request_id": request_id, "level": level, "quorum": 1},
    )


def _resume(case: SampleCase, hours: tuple[float, float], why: str) -> None:
    case.person(
        "resume case", OPERATIONS, "case.resumed", "started", hours, reasons=[why], data={"execution": "r1"}
    )


def onboarding_case(
    writer: TrailWriter, rng: random.Random, index: int, at: datetime, path: str, clock: Clock = wall_clock
) -> None:
    case = SampleCase(writer, rng, f"onboard-006Dn{index:010d}XYZ", at, clock=clock)
    _start(case)
    existing = rng.random() < 0.35
    if path == "duplicate":
        case.system(
            "start case",
            "start_case",
            "event.duplicate",
            "ignored",
            seconds=(0.1, 2),
            reasons=["the case already exists"],
        )
    if path == "lost":
        case.system(
            "validate closed-won opportunity",
            "validate_opportunity",
            "opportunity.validated",
            "blocked",
            reasons=[f"opportunity 006Dn{index:010d}XYZ is not closed-won (stage 'Closed Lost')"],
        )
        case.publish(
            "Onboarding Blocked",
            [f"OpportunityNotOnboardable: opportunity 006Dn{index:010d}XYZ is not closed-won"],
        )
        return
    if path in ("no_sow", "no_sow_resumed"):
        missing = (
            f"StatementOfWorkMissing: opportunity 006Dn{index:010d}XYZ has no statement of work attached"
        )
        case.system(
            "validate closed-won opportunity", "validate_opportunity", "opportunity.validated", "passed"
        )
        case.system(
            "fetch statement of work", "fetch_statement_of_work", "sow.fetched", "blocked", reasons=[missing]
        )
        case.publish("Onboarding Blocked", [missing])
        if path == "no_sow":
            return
        _resume(case, (3, 30), "signed SOW attached in the CRM")
        _intake(case, "none")
        _setup(case, existing)
        return
    risk = {
        "medium": "medium",
        "high": "high",
        "expiry": "medium",
        "rejected": "medium",
        "waiting": "high",
    }.get(path, "none")
    _intake(case, risk)
    if path == "medium":
        stray = "ben.clarke@example-firm.com" if index % 9 == 4 else None
        _approve(case, "legal review", 0, 1, rng.choice(LEGAL), "approve", (0.4, 30), stray=stray)
    elif path == "rejected":
        who = rng.choice(LEGAL)
        _approve(
            case, "legal review", 0, 1, who, "reject", (2, 20), comment="90-day payment terms: renegotiate"
        )
        case.publish("Onboarding Blocked", [f"ContractRejectedByLegal: Rejected by {who} (legal review)"])
        return
    elif path == "high":
        _approve(case, "legal review", 0, 2, rng.choice(LEGAL), "approve", (1, 26))
        _approve(case, "general counsel sign-off", 1, 2, GENERAL_COUNSEL, "approve", (2, 40))
    elif path == "expiry":
        request_id = f"{case.case_id}-0"
        case.system(
            "legal review",
            "approvals",
            "approval.requested",
            "pending",
            reasons=["legal review (level 1 of 1, rule: contract risk): 1 of 1 must approve"],
            data={"request_id": request_id, "approvers": list(LEGAL), "quorum": 1},
        )
        case.at += timedelta(hours=24)
        case.writer.add(
            case.case_id,
            case.at,
            "legal review",
            Actor.system("approvals"),
            "approval.reminded",
            "pending",
            data={"request_id": request_id},
        )
        case.at += timedelta(hours=24)
        case.writer.add(
            case.case_id,
            case.at,
            "legal review",
            Actor.system("approvals"),
            "approval.expired",
            "escalating",
            reasons=["legal review: nobody decided in time; escalating to head of legal"],
            data={"request_id": request_id},
        )
        _approve(case, "legal review", 0, 1, HEAD_OF_LEGAL, "approve", (1, 8), escalated=True)
    elif path == "waiting":
        _approve_pending(case)
        return
    if path == "near_match":
        review = (
            "CustomerNeedsReview: 'Northwind Logistic Inc' is close to ERP customer CUST-0001 (name score 97)"
        )
        case.system(
            "match customer in ERP", "match_customer", "customer.matched", "blocked", reasons=[review]
        )
        case.publish("Onboarding Blocked", [review])
        if index % 2:
            return
        _resume(case, (8, 50), "master data: merged with CUST-0001")
        _intake(case, "none")
        _setup(case, True)
        return
    if path == "erp_outage":
        down = "ConnectorUnavailable: ERP answered 503 after 3 attempts"
        case.system(
            "match customer in ERP",
            "match_customer",
            "customer.created",
            "blocked",
            seconds=(30, 90),
            reasons=[down],
        )
        case.publish("Onboarding Blocked", [down])
        _resume(case, (0.5, 3), "ERP back up")
        _intake(case, "none")
    _setup(case, existing)


def _approve_pending(case: SampleCase) -> None:
    case.system(
        "legal review",
        "approvals",
        "approval.requested",
        "pending",
        reasons=["legal review (level 1 of 2, rule: contract risk): 1 of 1 must approve"],
        data={"request_id": f"{case.case_id}-0", "approvers": [LEGAL[0]], "quorum": 1},
    )


def _invoicing(writer: TrailWriter, rng: random.Random, index: int, at: datetime) -> None:
    case = SampleCase(writer, rng, f"invoice-PRJ-{index:04d}-2026-02", at, workflow="invoicing")
    _start(case, "billing_period_closed")
    blocked = index % 5 == 3
    if blocked:
        reason = "MissingPurchaseOrder: the client requires a PO number on every invoice (BR-04)"
        case.system(
            "check billing readiness",
            "check_billing_readiness",
            "billing.checked",
            "blocked",
            reasons=[reason],
        )
        case.publish("Invoicing Blocked", [reason])
        _resume(case, (4, 40), "PO number added by the engagement manager")
    case.system(
        "check billing readiness", "check_billing_readiness", "billing.checked", "passed", seconds=(2, 10)
    )
    case.system("draft invoice in ERP", "draft_invoice", "invoice.drafted", "drafted", seconds=(2, 10))
    partner = PARTNERS[index % 2]
    case.system(
        "partner review",
        "approvals",
        "approval.requested",
        "pending",
        reasons=["partner review (level 1 of 1, rule: invoices): 1 of 1 must approve"],
        data={"request_id": f"{case.case_id}-0", "approvers": [partner], "quorum": 1},
    )
    case.person(
        "partner review",
        partner,
        "approval.decided",
        "approved",
        (0.5, 20),
        data={"request_id": f"{case.case_id}-0", "level": "partner review", "quorum": 1},
    )
    invoice_date = case.at.date()
    case.system(
        "post invoice in ERP",
        "post_invoice",
        "invoice.posted",
        "posted",
        data={
            "invoice_id": f"INV-2026-{index:04d}",
            "invoice_date": invoice_date.isoformat(),
            "period_start": "2026-02-01",
            "period_end": "2026-02-28",
        },
    )
    case.publish("Invoice Posted")


ONBOARDING_PATHS = (
    ("straight", 48),
    ("duplicate", 4),
    ("medium", 14),
    ("rejected", 3),
    ("high", 7),
    ("expiry", 3),
    ("no_sow", 2),
    ("no_sow_resumed", 4),
    ("near_match", 4),
    ("lost", 3),
    ("erp_outage", 3),
)


def sample_records(cases: int = 60, invoices: int = 12, seed: int = 8) -> list[AuditRecord]:
    """``cases`` onboarding cases over four weeks, three rejected events, ``invoices`` invoicing cases."""
    rng = random.Random(seed)
    writer = TrailWriter()
    names, weights = zip(*ONBOARDING_PATHS, strict=True)
    spacing = timedelta(days=26) / max(cases, 1)
    for index in range(1, cases + 1):
        at = SAMPLE_START + spacing * (index - 1) + timedelta(minutes=rng.uniform(0, 90))
        path = "waiting" if index > cases - 2 else rng.choices(names, weights)[0]
        onboarding_case(writer, rng, index, at, path)
    for n in range(3):
        at = SAMPLE_START + timedelta(days=5 + 8 * n, hours=3)
        writer.add(
            f"rejected-{seed:02d}{n:02d}-event",
            at,
            "start case",
            Actor.system("start_case"),
            "event.rejected",
            "rejected",
            reasons=["detail.opportunity.currency: String should match pattern '^[A-Z]{3}$'"],
            data={"rule": "opportunity_closed_won"},
        )
    writer.add(
        "approval-refusals",
        SAMPLE_START + timedelta(days=11, hours=2),
        "decision endpoint",
        Actor.system("anonymous"),
        "approval.refused",
        "unknown",
        workflow="approvals",
        reasons=["the link is not one this system issued"],
    )
    for index in range(1, invoices + 1):
        _invoicing(writer, rng, index, SAMPLE_START + timedelta(days=2 * index, hours=rng.uniform(0, 8)))
    return writer.records
