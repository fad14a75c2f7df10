"""Resource onboarding's rules and steps without AWS: the bill rate's band, the documents a kind of employment
needs, what makes a hire's record unusable, who approves a rate out of band (never the hiring manager nor the
worker), the case and attempt of a hire, and the two mails (once each, names escaped)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest

from backoffice.approvals.policy import ApprovalFacts, ApprovalPolicy
from backoffice.approvals.routing import route_level, select_rule
from backoffice.cases import attempt_of, case_id_for
from backoffice.connectors.ports import (
    ConnectorUnavailable,
    Page,
    PsaResource,
    RecordNotFound,
    ResourceRequest,
    ResourceSaved,
)
from backoffice.models import RateCard, Vendor, Worker
from backoffice.models.events import WorkerHired
from backoffice.onboarding.sample_firm import standard_rate_card
from backoffice.resource_onboarding.policy import ResourceOnboardingPolicy
from backoffice.resource_onboarding.rules import (
    check_rate,
    document_problems,
    floor_rate,
    plain,
    practice_leads,
    record_problems,
)
from backoffice.resource_onboarding.steps import (
    MANAGER_MAIL,
    WELCOME_MAIL,
    check_new_worker,
    resource_json,
    resource_of,
    welcome,
)
from infra.catalog import CATALOG

TODAY = date(2026, 12, 7)
POLICY = ResourceOnboardingPolicy()
CARD = standard_rate_card("USD")


def hired(**changes: Any) -> WorkerHired:
    values: dict[str, Any] = {
        "worker_id": "W-101",
        "name": "Nadia Brooks",
        "email": "nadia.brooks@meridian-advisory.example",
        "employment": "employee",
        "role": "engineer",
        "practice": "technology",
        "cost_rate": "85",
        "start_date": "2026-12-14",
        "manager_id": "W-010",
        **changes,
    }
    return WorkerHired.from_json_dict(values)


def worker(
    worker_id: str, name: str, *roles: str, practice: str = "technology", active: bool = True
) -> Worker:
    return Worker(
        id=worker_id,
        name=name,
        email=f"{name.lower().replace(' ', '.')}@meridian-advisory.example",
        employment="employee",
        roles=list(roles),
        cost_rate=Decimal(100),
        currency="USD",
        practice=practice,
        is_active=active,
    )


MANAGER = worker("W-010", "Ruth Wagner", "manager")
LEAD = worker("W-001", "Alex Mensah", "partner", "practice_lead")


# ------------------------------------------------------------------------------------------------------------
# The bill rate's band
# ------------------------------------------------------------------------------------------------------------


def test_the_floor_keeps_the_minimum_margin_rounded_up_to_the_cent() -> None:
    assert floor_rate(Decimal(85), Decimal("0.35")) == Decimal("130.77")  # 85 / 0.65 = 130.769...
    assert floor_rate(Decimal(65), Decimal("0.35")) == Decimal("100.00")


def test_the_cards_rate_is_in_band_for_an_ordinary_hire() -> None:
    rate = check_rate(hired(), CARD, POLICY)
    assert (rate.card_rate, rate.bill_rate, rate.in_band) == (Decimal(190), Decimal(190), True)
    assert rate.margin == Decimal("0.5526")


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        # the card's 225 for a senior consultant costing 160 leaves 28.9%: below the floor of 246.16
        ({"role": "senior_consultant", "cost_rate": "160"}, "below the floor 246.16"),
        # a proposed 120 for an engineer costing 85: below the floor of 130.77
        ({"bill_rate": "120"}, "below the floor 130.77"),
        # a proposed 210 for an engineer: above the card's 190
        ({"bill_rate": "210"}, "above the card's 190"),
    ],
)
def test_a_rate_below_the_floor_or_above_the_card_is_out_of_band(
    changes: dict[str, str], reason: str
) -> None:
    rate = check_rate(hired(**changes), CARD, POLICY)
    assert not rate.in_band and any(reason in r for r in rate.reasons)


def test_a_firm_may_ask_for_a_thinner_margin() -> None:
    thinner = ResourceOnboardingPolicy(minimum_margin=Decimal("0.25"))
    assert check_rate(hired(role="senior_consultant", cost_rate="160"), CARD, thinner).in_band


def test_numbers_in_reasons_and_mails_read_as_people_write_them() -> None:
    # Given a margin of 40% and a full-time week (Decimal.normalize prints both as 4E+1)
    policy = ResourceOnboardingPolicy(minimum_margin=Decimal("0.40"))
    # When a rate below the floor is checked
    rate = check_rate(hired(bill_rate="100", cost_rate="85"), CARD, policy)
    # Then its reason says 40%, and a 40-hour week reads 40 in the mail
    assert any("minimum margin of 40%" in r for r in rate.reasons), rate.reasons
    assert plain(Decimal("40.00")) == "40" and plain(Decimal("37.50")) == "37.5" and plain(Decimal(0)) == "0"
    systems = Systems([MANAGER])
    resource = resource_of(check(systems, hired(weekly_hours="40.0"))["resource"])
    outbox = Outbox()
    welcome(
        resource,
        "RES-W-101",
        manager={"name": "Ruth Wagner", "email": str(MANAGER.email)},
        case_id="worker-W-101",
        attempt="a-1",
        psa=systems,  # type: ignore[arg-type]
        mailer=outbox,
        claims=Claims(),
        holds=Holds(),
    )
    assert all("Availability: 40 hours a week" in m["text"] for m in outbox.sent) and len(outbox.sent) == 2


# ------------------------------------------------------------------------------------------------------------
# The record and the documents
# ------------------------------------------------------------------------------------------------------------


def test_a_record_is_unusable_without_a_known_active_manager_a_rated_role_or_a_subcontractors_vendor() -> (
    None
):
    fine = record_problems(hired(), manager=MANAGER, card_rate_found=True, card_currency_found=True)
    assert fine == []
    assert record_problems(
        hired(employment="subcontractor", manager_id="W-101"),
        manager=None,
        card_rate_found=False,
        card_currency_found=True,
    ) == [
        "a subcontractor worker names no vendor (vendor_id): whose worker are they?",
        "the worker is named as their own manager",
        "the firm's rate card has no rate for the role engineer in USD",
    ]
    gone = worker("W-010", "Ruth Wagner", "manager", active=False)
    assert record_problems(hired(), manager=gone, card_rate_found=True, card_currency_found=False) == [
        "the manager W-010 is no longer active in the HRIS",
        "the firm has no standard rate card in USD",
    ]


def test_a_subcontractor_needs_a_signed_nda_and_right_to_work_in_force_on_the_start_date() -> None:
    signed = (TODAY - timedelta(days=3)).isoformat()
    documents = [
        {"kind": "nda", "signed_on": None},
        {"kind": "right_to_work", "signed_on": signed, "expires_on": "2026-12-14"},
    ]
    problems = document_problems(hired(employment="subcontractor", documents=documents), POLICY, TODAY)
    assert problems == [
        "the worker's signed NDA is not signed",
        "the worker's right-to-work document expired on 2026-12-14",
    ]
    assert document_problems(hired(employment="subcontractor"), POLICY, TODAY) == [
        "the worker's signed NDA is missing",
        "the worker's right-to-work document is missing",
    ]
    # An employee needs none by default; a contractor the NDA
    assert document_problems(hired(), POLICY, TODAY) == []
    assert document_problems(hired(employment="contractor"), POLICY, TODAY) == [
        "the worker's signed NDA is missing"
    ]


def test_the_practice_leads_are_the_practices_and_never_the_requester_or_the_worker() -> None:
    other = worker("W-002", "Maria Bello", "partner", "practice_lead", practice="risk")
    both = worker("W-010", "Ruth Wagner", "manager", "practice_lead")
    leads = practice_leads([LEAD, other, both], "technology", "practice_lead", besides=[str(both.email)])
    assert leads == [str(LEAD.email)]


# ------------------------------------------------------------------------------------------------------------
# The case, the route
# ------------------------------------------------------------------------------------------------------------


def test_a_hires_case_is_the_worker_and_its_attempt_the_start_date() -> None:
    rule = CATALOG.rule("worker_hired")
    machine = CATALOG.state_machine(rule.workflow)
    event = {"id": "e-1", "detail": {"worker_id": "W-106", "start_date": "2026-12-14"}}
    rehire = {"id": "e-2", "detail": {"worker_id": "W-106", "start_date": "2027-03-14"}}
    assert case_id_for(machine.execution_prefix, event, rule.case_key) == "worker-W-106"
    assert case_id_for(machine.execution_prefix, rehire, rule.case_key) == "worker-W-106"
    assert attempt_of(event, rule.attempt_key) != attempt_of(rehire, rule.attempt_key)
    # And a corrected record of the same hire (a later hired_at) is an attempt of its own; a second delivery is not
    recorded = {"id": "e-3", "detail": {**event["detail"], "hired_at": "2026-12-07T09:00:00Z"}}
    corrected = {"id": "e-4", "detail": {**event["detail"], "hired_at": "2026-12-08T10:30:00Z"}}
    redelivered = {**recorded, "id": "e-5"}
    assert attempt_of(recorded, rule.attempt_key) != attempt_of(corrected, rule.attempt_key)
    assert attempt_of(recorded, rule.attempt_key) == attempt_of(redelivered, rule.attempt_key)


def test_an_out_of_band_rate_goes_to_the_practice_lead_and_escalates_to_the_firms_group() -> None:
    policy = ApprovalPolicy(groups={"engagement_partners": ("alex.chen@example-firm.com",)}, routes={})
    rule = select_rule(policy, "resource_rate", ApprovalFacts(owner="bill_rate"))
    assert rule is not None and rule.levels[0].group == "subject:practice_lead"
    level = route_level(
        policy,
        rule,
        0,
        requested_by="ruth.wagner@meridian-advisory.example",
        decided_earlier=frozenset(),
        today=TODAY,
        subject_groups={"practice_lead": ["alex.mensah@meridian-advisory.example"]},
    )
    assert [a.email for a in level.approvers] == ["alex.mensah@meridian-advisory.example"]
    assert rule.levels[0].escalate_to == "subject:reviewers"


# ------------------------------------------------------------------------------------------------------------
# The steps over in-memory systems
# ------------------------------------------------------------------------------------------------------------


@dataclass
class Systems:
    """In-memory HRIS, ERP and PSA: the shapes of the ports, what the steps read and write."""

    workers: list[Worker]
    vendors: dict[str, Vendor] = field(default_factory=dict)
    card: RateCard | None = CARD
    requests: list[ResourceRequest] = field(default_factory=list)
    held: dict[str, str] = field(default_factory=dict)
    saved: list[PsaResource] = field(default_factory=list)

    def list_workers(self, page_token: str | None = None) -> Page[Worker]:
        return Page(self.workers)

    def get_vendor(self, vendor_id: str) -> Vendor:
        if vendor_id not in self.vendors:
            raise RecordNotFound(f"ERP has no vendor {vendor_id}")
        return self.vendors[vendor_id]

    def standard_rate_card(self, currency: str, *, as_of: date | None = None) -> RateCard | None:
        return self.card

    def save_resource(self, resource: PsaResource) -> ResourceSaved:
        self.saved.append(resource)
        return ResourceSaved(f"RES-{resource.worker_id}", len(self.saved) == 1)

    def open_resource_requests(self, role: str) -> list[ResourceRequest]:
        return [r for r in self.requests if r.role == role and r.id not in self.held]

    def assign_resource_request(
        self, request_id: str, *, resource_id: str, worker_id: str, bill_rate: Decimal | None = None
    ) -> bool:
        return self.held.setdefault(request_id, resource_id) == resource_id


def check(
    systems: Systems, detail: WorkerHired, approval_policy: ApprovalPolicy | None = None
) -> dict[str, Any]:
    return check_new_worker(
        detail,
        hris=systems,  # type: ignore[arg-type]
        erp=systems,  # type: ignore[arg-type]
        psa=systems,  # type: ignore[arg-type]
        policy=POLICY,
        approval_policy=approval_policy,
        today=TODAY,
    )


def test_a_rate_review_names_the_practice_lead_and_the_hiring_manager_as_requester() -> None:
    systems = Systems([MANAGER, LEAD])
    result = check(systems, hired(role="senior_consultant", cost_rate="160"))
    assert result["status"] == "rate_review"
    assert result["requested_by"] == str(MANAGER.email)
    assert result["subject"]["approvers"]["practice_lead"] == [str(LEAD.email)]
    assert result["subject"]["owner"] == "bill_rate" and result["subject"]["amount"] == "225"


def test_a_practice_without_a_lead_falls_back_to_the_firms_group_without_the_manager() -> None:
    systems = Systems([MANAGER])
    policy = ApprovalPolicy(
        groups={
            "engagement_partners": ("ruth.wagner@meridian-advisory.example", "alex.chen@example-firm.com")
        },
        routes={},
    )
    result = check(systems, hired(bill_rate="250"), policy)
    assert result["subject"]["approvers"]["practice_lead"] == ["alex.chen@example-firm.com"]


def test_a_subcontractor_of_an_unknown_vendor_is_blocked_with_the_reason() -> None:
    detail = hired(employment="subcontractor", vendor_id="V-404")
    result = check(Systems([MANAGER]), detail)
    assert result["status"] == "blocked"
    assert result["reasons"][0] == "vendor V-404: the vendor is not in the ERP: it has not been onboarded"
    assert result["vendor"] == {
        "vendor_id": "V-404",
        "found": False,
        "approved": False,
        "insurance_in_force": False,
        "insurance_expires_on": None,
    }


def test_the_resource_in_the_state_reads_back_as_it_was() -> None:
    result = check(Systems([MANAGER]), hired(skills=["aws"], weekly_hours="24"))
    resource = resource_of(result["resource"])
    assert resource_json(resource) == result["resource"]
    assert (resource.weekly_hours, resource.bill_rate, resource.skills) == (
        Decimal(24),
        Decimal(190),
        ("aws",),
    )


class Outbox:
    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    def send(self, **mail: Any) -> str:
        self.sent.append(mail)
        return "m-1"


class Claims:
    def __init__(self) -> None:
        self.taken: set[str] = set()

    def take(self, key: str) -> str | None:
        if key in self.taken:
            return None
        self.taken.add(key)
        return key

    def done(self, key: str, token: str) -> bool:
        return True

    def release(self, key: str, token: str) -> bool:
        self.taken.discard(key)
        return True


class Holds:
    """The idempotency table's holds, in memory, with the same conditions."""

    def __init__(self) -> None:
        self.items: dict[str, dict[str, str]] = {}

    def held(self, key: str) -> dict[str, str] | None:
        return self.items.get(key)

    def hold(self, key: str, assignment: dict[str, str], previous: str | None) -> bool:
        found = self.items.get(key)
        if found is not None and (previous is None or found["request_id"] != previous):
            return False
        self.items[key] = dict(assignment)
        return True


def test_welcome_assigns_the_first_request_and_mails_each_person_once_with_names_escaped() -> None:
    # Given a hire whose name carries markup, and two requests for the role: one ended before the start
    systems = Systems(
        [MANAGER],
        requests=[
            ResourceRequest(
                "P-OLD", "engineer", Decimal(40), date(2026, 10, 1), date(2026, 11, 30), id="RR-1"
            ),
            ResourceRequest(
                "P-NEW", "engineer", Decimal(320), date(2027, 1, 4), date(2027, 3, 31), id="RR-2"
            ),
        ],
    )
    resource = resource_of(check(systems, hired(name="Nadia <b>Brooks</b>"))["resource"])
    outbox, claims, holds = Outbox(), Claims(), Holds()

    def run() -> dict[str, Any]:
        return welcome(
            resource,
            "RES-W-101",
            manager={"name": "Ruth Wagner", "email": str(MANAGER.email)},
            case_id="worker-W-101",
            attempt="worker-W-101",
            psa=systems,  # type: ignore[arg-type]
            mailer=outbox,
            claims=claims,
            holds=holds,
        )

    # When the step runs, then runs again (a retry)
    first, again = run(), run()

    # Then the running request is assigned; the retry finds it held by the same resource and reports it
    assert first["assignment"]["request_id"] == "RR-2" and systems.held == {"RR-2": "RES-W-101"}
    assert again["assignment"] == first["assignment"]
    # And each person got one mail, the name escaped in the HTML
    assert [m["tags"]["purpose"] for m in outbox.sent] == [WELCOME_MAIL, MANAGER_MAIL]
    assert again["mailed"] == []
    assert "&lt;b&gt;Brooks&lt;/b&gt;" in outbox.sent[0]["html"] and "<b>" not in outbox.sent[0]["html"]
    assert "P-NEW" in outbox.sent[1]["text"]


def test_a_mail_that_failed_to_send_is_sent_by_the_retry() -> None:
    # Given SES refusing the first welcome
    class Flaky(Outbox):
        def send(self, **mail: Any) -> str:
            if not self.sent and not getattr(self, "failed", False):
                self.failed = True
                raise RuntimeError("SES throttled")
            return super().send(**mail)

    systems = Systems([MANAGER])
    resource = resource_of(check(systems, hired())["resource"])
    outbox, claims, holds = Flaky(), Claims(), Holds()

    def run() -> dict[str, Any]:
        return welcome(
            resource,
            "RES-W-101",
            manager=None,
            case_id="worker-W-101",
            attempt="worker-W-101",
            psa=systems,  # type: ignore[arg-type]
            mailer=outbox,
            claims=claims,
            holds=holds,
        )

    # When the step fails on the send (raised as an outage: the state machine retries it), then is retried
    with pytest.raises(ConnectorUnavailable):
        run()
    again = run()
    # Then the retry sends the welcome (the claim was given back), once
    assert again["mailed"] == [WELCOME_MAIL] and len(outbox.sent) == 1


def test_a_vendor_whose_insurance_lapses_before_the_start_date_blocks_the_subcontractor() -> None:
    # Given a subcontractor starting 2027-01-11 whose vendor is approved and insured today, until 2027-01-05
    documents = [
        {"kind": "nda", "signed_on": "2026-11-01"},
        {"kind": "right_to_work", "signed_on": "2026-11-01"},
    ]
    insured = Vendor(
        id="V-7",
        supplier_name="Keller Staffing LLC",
        default_currency="USD",
        insurance_expires_on=date(2027, 1, 5),
    )
    detail = hired(employment="subcontractor", vendor_id="V-7", documents=documents, start_date="2027-01-11")
    # When the hire is checked today
    result = check(Systems([MANAGER], vendors={"V-7": insured}), detail)
    # Then it is blocked: the cover lapses before the worker's first day
    assert result["status"] == "blocked"
    assert result["reasons"] == [
        "vendor V-7: Keller Staffing LLC's certificate of insurance lapses on 2027-01-05, on or before the "
        "worker's start date"
    ]
    # And insured past the start date, the same hire is ready
    covered = insured.model_copy(update={"insurance_expires_on": date(2027, 6, 30)})
    assert check(Systems([MANAGER], vendors={"V-7": covered}), detail)["status"] == "ready"


def test_the_worker_never_approves_their_own_rate_whatever_email_the_hris_holds() -> None:
    # Given the new hire already in the HRIS as a practice lead under another e-mail (a rehire, a changed address)
    themselves = worker("W-101", "Nadia Old Address", "practice_lead")
    systems = Systems([MANAGER, LEAD, themselves])
    # When their out-of-band rate goes to review
    result = check(systems, hired(role="senior_consultant", cost_rate="160"))
    # Then only the other practice lead is asked: the worker is left out by id
    assert result["status"] == "rate_review"
    assert result["subject"]["approvers"]["practice_lead"] == [str(LEAD.email)]


def test_a_retried_welcome_with_two_open_requests_takes_no_second_one() -> None:
    # Given two requests waiting for the role, both running on the start date
    systems = Systems(
        [MANAGER],
        requests=[
            ResourceRequest("P-A", "engineer", Decimal(320), date(2027, 1, 4), date(2027, 3, 31), id="RR-A"),
            ResourceRequest("P-B", "engineer", Decimal(160), date(2027, 2, 1), date(2027, 4, 30), id="RR-B"),
        ],
    )
    resource = resource_of(check(systems, hired())["resource"])
    holds = Holds()

    def run(attempt: str) -> dict[str, Any]:
        return welcome(
            resource,
            "RES-W-101",
            manager=None,
            case_id="worker-W-101",
            attempt=attempt,
            psa=systems,  # type: ignore[arg-type]
            mailer=None,
            claims=Claims(),
            holds=holds,
        )

    # When the step runs, is retried, and the hire's corrected record (a new attempt, same start) runs it again
    first, retried, corrected = run("a-1"), run("a-1"), run("a-2")

    # Then the worker holds one request only, and each run reports it (Worker Onboarded carries it)
    assert systems.held == {"RR-A": "RES-W-101"}
    assert first["assignment"]["request_id"] == "RR-A"
    assert retried["assignment"] == first["assignment"] == corrected["assignment"]


def test_a_held_request_another_hire_took_meanwhile_is_passed_over_for_the_next() -> None:
    # Given the hire held RR-A (its step died before assigning it) and another hire then took RR-A
    systems = Systems(
        [MANAGER],
        requests=[
            ResourceRequest("P-A", "engineer", Decimal(320), date(2027, 1, 4), date(2027, 3, 31), id="RR-A"),
            ResourceRequest("P-B", "engineer", Decimal(160), date(2027, 2, 1), date(2027, 4, 30), id="RR-B"),
        ],
    )
    resource = resource_of(check(systems, hired())["resource"])
    holds = Holds()
    key = "worker#assignment#worker-W-101"
    holds.hold(key, {"request_id": "RR-A", "project_id": "P-A", "start": "2027-01-04", "end": "2027-03-31",
                     "hours": "320"}, None)  # fmt: skip
    systems.held["RR-A"] = "RES-W-999"
    # When the step is retried
    result = welcome(
        resource,
        "RES-W-101",
        manager=None,
        case_id="worker-W-101",
        attempt="a-1",
        psa=systems,  # type: ignore[arg-type]
        mailer=None,
        claims=Claims(),
        holds=holds,
    )
    # Then it takes the next request, says why, and holds that one now
    assert result["assignment"]["request_id"] == "RR-B" and systems.held["RR-B"] == "RES-W-101"
    assert result["passed_over"] == ["staffing request RR-A was assigned to someone else meanwhile"]
    assert holds.items[key]["request_id"] == "RR-B"


def test_a_mail_ses_refuses_for_good_does_not_undo_the_onboarding() -> None:
    # Given SES refusing the worker's address for good (MessageRejected, a 400), and a request waiting
    class Refusing(Outbox):
        def send(self, **mail: Any) -> str:
            if mail["to"] == "nadia.brooks@meridian-advisory.example":
                error = RuntimeError("Email address is not verified")
                error.response = {  # type: ignore[attr-defined]
                    "Error": {"Code": "MessageRejected", "Message": "Email address is not verified"},
                    "ResponseMetadata": {"HTTPStatusCode": 400},
                }
                raise error
            return super().send(**mail)

    systems = Systems(
        [MANAGER],
        requests=[
            ResourceRequest("P-A", "engineer", Decimal(320), date(2027, 1, 4), date(2027, 3, 31), id="RR-A")
        ],
    )
    resource = resource_of(check(systems, hired())["resource"])
    outbox = Refusing()
    # When the step runs
    result = welcome(
        resource,
        "RES-W-101",
        manager={"name": "Ruth Wagner", "email": str(MANAGER.email)},
        case_id="worker-W-101",
        attempt="a-1",
        psa=systems,  # type: ignore[arg-type]
        mailer=outbox,
        claims=Claims(),
        holds=Holds(),
    )
    # Then the assignment stands, the manager is told, and the worker's refused mail is reported, not raised
    assert result["assignment"]["request_id"] == "RR-A"
    assert result["mailed"] == [MANAGER_MAIL]
    assert result["not_mailed"] == [f"{WELCOME_MAIL}: SES refused it (MessageRejected)"]


def test_a_mail_ses_denies_for_a_configuration_fault_fails_the_step_not_skipped() -> None:
    # Given SES denying the send (AccessDenied, a 403: the role or identity is misconfigured), and a request waiting
    class Denying(Outbox):
        def send(self, **mail: Any) -> str:
            error = RuntimeError("not authorized to perform ses:SendEmail")
            error.response = {  # type: ignore[attr-defined]
                "Error": {"Code": "AccessDenied", "Message": "not authorized"},
                "ResponseMetadata": {"HTTPStatusCode": 403},
            }
            raise error

    systems = Systems(
        [MANAGER],
        requests=[
            ResourceRequest("P-A", "engineer", Decimal(320), date(2027, 1, 4), date(2027, 3, 31), id="RR-A")
        ],
    )
    resource = resource_of(check(systems, hired())["resource"])
    # When the step runs, Then it fails with SES's error (a technical fault), instead of reporting mails not sent
    with pytest.raises(RuntimeError, match="not authorized"):
        welcome(
            resource,
            "RES-W-101",
            manager={"name": "Ruth Wagner", "email": str(MANAGER.email)},
            case_id="worker-W-101",
            attempt="a-1",
            psa=systems,  # type: ignore[arg-type]
            mailer=Denying(),
            claims=Claims(),
            holds=Holds(),
        )


def test_a_rate_nobody_may_approve_blocks_the_hire_with_the_reason_not_a_fault() -> None:
    # Given a rate out of band, no practice lead in the HRIS and the firm's group naming only the hiring manager
    policy = ApprovalPolicy(
        groups={"engagement_partners": ("ruth.wagner@meridian-advisory.example",)}, routes={}
    )
    # When the hire is checked
    result = check(Systems([MANAGER]), hired(bill_rate="250"), policy)
    # Then it is blocked (not sent to an approval step that would fail), saying why, and may be resumed once fixed
    assert result["status"] == "blocked" and result["resumable"] is True
    assert result["reasons"] == [
        "nobody can approve the bill rate: the technology practice has no practice_lead in the HRIS and the firm's "
        "group engagement_partners names nobody else"
    ]


def test_the_check_reads_the_rate_card_in_force_on_the_start_date() -> None:
    # Given a PSA that answers the card in force on the date asked
    asked: list[date | None] = []

    class Dated(Systems):
        def standard_rate_card(self, currency: str, *, as_of: date | None = None) -> RateCard | None:
            asked.append(as_of)
            return super().standard_rate_card(currency, as_of=as_of)

    # When a hire starting 2027-03-01 is checked (today is 2026-12-07)
    check(Dated([MANAGER]), hired(start_date="2027-03-01"))
    # Then the card is read as of the start date, not today
    assert asked == [date(2027, 3, 1)]


def test_an_attempts_order_without_hired_at_is_its_start_date_with_hired_at_when_it_was_recorded() -> None:
    # Given a hire's record and a correction moving the start date earlier
    from backoffice.resource_onboarding.attempts import attempt_order

    first, earlier = hired(start_date="2027-02-01"), hired(start_date="2027-01-04")
    # Without hired_at: the start date alone orders them, so the earlier start is the older record (superseded)
    assert attempt_order(earlier) < attempt_order(first)
    # With hired_at: the record the HRIS made later is the latest, whatever its start date
    first_at = hired(start_date="2027-02-01", hired_at="2026-12-01T09:00:00Z")
    fixed_at = hired(start_date="2027-01-04", hired_at="2026-12-02T09:00:00Z")
    assert attempt_order(fixed_at) > attempt_order(first_at)
    # And a record with hired_at comes after any without it
    assert attempt_order(first_at) > attempt_order(first)


def test_a_correction_moving_the_start_date_keeps_the_one_assignment() -> None:
    # Given a hire starting 2026-12-14 assigned to RR-A, and a second request waiting for the role
    systems = Systems(
        [MANAGER],
        requests=[
            ResourceRequest("P-A", "engineer", Decimal(320), date(2027, 1, 4), date(2027, 3, 31), id="RR-A"),
            ResourceRequest("P-B", "engineer", Decimal(160), date(2027, 1, 4), date(2027, 4, 30), id="RR-B"),
        ],
    )
    holds = Holds()

    def run(detail: WorkerHired, attempt: str) -> dict[str, Any]:
        return welcome(
            resource_of(check(systems, detail)["resource"]),
            "RES-W-101",
            manager=None,
            case_id="worker-W-101",
            attempt=attempt,
            psa=systems,  # type: ignore[arg-type]
            mailer=None,
            claims=Claims(),
            holds=holds,
        )

    first = run(hired(), "a-1")
    # When the HRIS corrects the start date (2027-01-11) and the step runs for that attempt
    corrected = run(hired(start_date="2027-01-11", hired_at="2026-12-02T09:00:00Z"), "a-2")
    # Then the worker still holds one request, the same
    assert systems.held == {"RR-A": "RES-W-101"}
    assert corrected["assignment"] == first["assignment"]
    # And a correction changing the role takes no second request, and says why
    moved = run(hired(role="analyst", hired_at="2026-12-03T09:00:00Z"), "a-3")
    assert moved["assignment"] is None and systems.held == {"RR-A": "RES-W-101"}
    assert "role changed from engineer to analyst" in moved["passed_over"][0]
