"""The steps of resource onboarding over the ports: check the hire, set up the PSA resource, assign and welcome.

Each returns what the state and the audit records carry: ids, counts, reasons and the resource's own facts (no tax
id, no bank number: the hire's record carries none, and the vendor's are never read into a result).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import date
from decimal import Decimal
from typing import Any, Protocol

from backoffice.approvals.policy import ApprovalPolicy
from backoffice.connectors.ports import (
    ConnectorUnavailable,
    ErpPort,
    HrisPort,
    PsaResource,
    RecordNotFound,
    ResourcePsaPort,
    all_pages,
)
from backoffice.models import Vendor, Worker
from backoffice.models.events import WorkerHired
from backoffice.resource_onboarding.policy import ResourceOnboardingPolicy
from backoffice.resource_onboarding.rules import (
    check_rate,
    document_problems,
    plain,
    practice_leads,
    record_problems,
)
from backoffice.vendors.standing import vendor_standing

WORKFLOW = "resource_onboarding"
ROUTE = "resource_rate"  # the approval route (approvals.routing.DEFAULT_ROUTES unless the firm names one)
WELCOME_MAIL = "worker_welcome"  # the SES tags of the two mails (a bounce finds its purpose)
MANAGER_MAIL = "worker_manager_notice"


class Mailer(Protocol):
    """The SES mailer's shape (``approvals.adapters.SesMailer``)."""

    def send(
        self, *, to: str, subject: str, text: str, html: str, tags: Mapping[str, str] | None = None
    ) -> str | None: ...


class Claims(Protocol):
    """Each mail sent once (``mail_claims.MailClaims``: a conditional put per key, given back if the send fails)."""

    def take(self, key: str) -> str | None: ...

    def done(self, key: str, token: str) -> bool: ...

    def release(self, key: str, token: str) -> bool: ...


def _email(worker: Worker | None) -> str | None:
    return str(worker.email).lower() if worker is not None and worker.email else None


# ------------------------------------------------------------------------------------------------------------
# Check the hire
# ------------------------------------------------------------------------------------------------------------


def _vendor(erp: ErpPort, vendor_id: str) -> Vendor | None:
    try:
        return erp.get_vendor(vendor_id)
    except RecordNotFound:
        return None


def check_new_worker(
    detail: WorkerHired,
    *,
    hris: HrisPort,
    erp: ErpPort,
    psa: ResourcePsaPort,
    policy: ResourceOnboardingPolicy,
    approval_policy: ApprovalPolicy | None,
    today: date,
) -> dict[str, Any]:
    """The hire checked: ``invalid`` (the record cannot be used), ``blocked`` (the subcontractor's vendor or the
    worker's documents stop them), ``rate_review`` (the bill rate is out of band: the practice lead decides) or
    ``ready``. Also the resource to set up and, for a review, the approval subject."""
    workers = all_pages(hris.list_workers)
    by_id = {worker.id: worker for worker in workers}
    manager = by_id.get(detail.manager_id or "")
    card = psa.standard_rate_card(detail.currency, as_of=detail.start_date)  # the rates the worker starts on
    rate = check_rate(detail, card, policy)
    problems = record_problems(
        detail,
        manager=manager,
        card_rate_found=rate.card_rate is not None,
        card_currency_found=card is not None,
    )
    blocked: list[str] = []
    vendor_facts: dict[str, Any] = {}
    if detail.employment == "subcontractor" and detail.vendor_id:
        vendor = _vendor(erp, detail.vendor_id)
        # Insured on the day the worker starts (and today, if the start is past): a cover lapsing before then blocks.
        standing = vendor_standing(vendor, max(detail.start_date, today))
        vendor_facts = {
            "vendor_id": detail.vendor_id,
            "found": vendor is not None,
            "approved": standing.approved,
            "insurance_in_force": standing.insurance_in_force,
            "insurance_expires_on": standing.insurance_expires_on.isoformat()
            if standing.insurance_expires_on
            else None,
        }
        if not standing.in_good_standing:
            blocked += [
                f"vendor {detail.vendor_id}: {_as_of_start(reason, standing.insurance_expires_on, today)}"
                for reason in standing.reasons
            ]
    missing_documents = document_problems(detail, policy, today)
    blocked += missing_documents

    subject = (
        _rate_subject(detail, rate.reasons, rate.bill_rate, workers, manager, policy, approval_policy)
        if rate.reasons
        else {}
    )
    if not problems and not blocked and subject and not subject["approvers"]["practice_lead"]:
        # Nobody may decide the rate (no practice lead in the HRIS, the firm's group empty or only the requester):
        # a hire blocked with the reason, not a technical fault of the approval step; resumable once someone is.
        blocked.append(
            f"nobody can approve the bill rate: the {detail.practice or 'no'} practice has no {policy.practice_lead_role} "
            f"in the HRIS and the firm's group {policy.practice_lead_group} names nobody else"
        )
    status = "invalid" if problems else "blocked" if blocked else "rate_review" if rate.reasons else "ready"
    reasons = problems or blocked or list(rate.reasons)
    requester = _email(manager) or (str(detail.email).lower() if detail.email else None)
    resource = PsaResource(
        worker_id=detail.worker_id,
        name=detail.name,
        email=str(detail.email).lower() if detail.email else None,
        employment=detail.employment,
        role=detail.role,
        practice=detail.practice,
        cost_rate=detail.cost_rate,
        bill_rate=rate.bill_rate if rate.bill_rate is not None else Decimal(0),
        currency=detail.currency,
        start_date=detail.start_date,
        weekly_hours=detail.weekly_hours or policy.standard_weekly_hours,
        manager_worker_id=detail.manager_id,
        skills=tuple(detail.skills),
        vendor_id=detail.vendor_id,
    )
    return {
        "status": status,
        "reasons": reasons,
        # A resume re-reads the firm's systems with the same record: it helps a vendor's standing (approved, insured
        # since), not the record, the worker's documents or a rate (those need a new Worker Hired).
        "resumable": status == "blocked" and not missing_documents,
        "resource": resource_json(resource),
        "manager": {"name": manager.name, "email": _email(manager)} if manager else None,
        "rate": {
            "card_rate": _text(rate.card_rate),
            "bill_rate": _text(rate.bill_rate),
            "floor": str(rate.floor),
            "margin": _text(rate.margin),
            "in_band": rate.in_band,
        },
        "vendor": vendor_facts,
        "documents": sorted(document.kind for document in detail.documents),
        "subject": subject if status == "rate_review" else {},
        # The hiring manager asks for the rate: never its approver (nor is the worker).
        "requested_by": requester or f"{detail.worker_id}@worker.invalid",
    }


def _as_of_start(reason: str, expires: date | None, today: date) -> str:
    """A certificate still in force today but lapsing by the start date reads so (not as expired)."""
    if expires is None or expires <= today or "expired on" not in reason:
        return reason
    return reason.replace("expired on", "lapses on") + ", on or before the worker's start date"


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _rate_subject(
    detail: WorkerHired,
    reasons: Sequence[str],
    bill_rate: Decimal | None,
    workers: Sequence[Worker],
    manager: Worker | None,
    policy: ResourceOnboardingPolicy,
    approval_policy: ApprovalPolicy | None,
) -> dict[str, Any]:
    """What the practice lead reads, and who they are (``approvers``: the case's people, ``subject:<name>``)."""
    # Nobody approves their own rate: the worker (by id, whatever e-mail the HRIS holds) nor the hiring manager.
    themselves = [w for w in workers if w.id in {detail.worker_id, detail.manager_id}]
    besides = [str(detail.email or ""), _email(manager) or "", *(_email(w) or "" for w in themselves)]
    leads = practice_leads(
        [w for w in workers if w.id not in {detail.worker_id, detail.manager_id}],
        detail.practice,
        policy.practice_lead_role,
        besides=besides,
    )
    fallback = [
        e
        for e in (approval_policy.groups.get(policy.practice_lead_group, ()) if approval_policy else ())
        if e not in {b.lower() for b in besides if b}
    ]
    return {
        "title": f"Bill rate of a new hire: {detail.name}, {detail.role}"
        + (f" ({detail.practice})" if detail.practice else ""),
        "summary": "The bill rate is out of the firm's band. Approve: the resource is set up in the PSA at this "
        "rate. Reject: onboarding stops with your comment, for the hiring manager to propose another rate.",
        # What the approval's summary says approving and rejecting do (approvals.summary: a subject's own win).
        "on_approve": "the worker is set up in the PSA at this bill rate and onboarding continues",
        "on_reject": "onboarding stops and the hiring manager is told why, to propose another rate",
        "owner": "bill_rate",
        "amount": _text(bill_rate),
        "currency": detail.currency,
        "service_line": detail.practice,
        "worker_id": detail.worker_id,
        "reasons": list(reasons),
        "approvers": {"practice_lead": leads or fallback, "reviewers": fallback},
    }


# ------------------------------------------------------------------------------------------------------------
# The resource in the state
# ------------------------------------------------------------------------------------------------------------


def resource_json(resource: PsaResource) -> dict[str, Any]:
    body = asdict(resource)
    return {k: (str(v) if isinstance(v, Decimal | date) else list(v) if isinstance(v, tuple) else v)
            for k, v in body.items()}  # fmt: skip


def resource_of(body: Mapping[str, Any]) -> PsaResource:
    return PsaResource(
        worker_id=str(body["worker_id"]),
        name=str(body["name"]),
        email=body.get("email"),
        employment=str(body["employment"]),
        role=str(body["role"]),
        practice=body.get("practice"),
        cost_rate=Decimal(str(body["cost_rate"])),
        bill_rate=Decimal(str(body["bill_rate"])),
        currency=str(body["currency"]),
        start_date=date.fromisoformat(str(body["start_date"])),
        weekly_hours=Decimal(str(body["weekly_hours"])),
        manager_worker_id=body.get("manager_worker_id"),
        skills=tuple(body.get("skills") or ()),
        vendor_id=body.get("vendor_id"),
    )


# ------------------------------------------------------------------------------------------------------------
# Set up the resource
# ------------------------------------------------------------------------------------------------------------


def vendor_no_longer_in_standing(resource: PsaResource, erp: ErpPort, today: date) -> list[str]:
    """A subcontractor's vendor read again at set-up (a rate review may have taken weeks): why it no longer lets the
    worker start, as of the start date (or today, if later); empty: it still does, or no vendor is involved."""
    if resource.employment != "subcontractor" or not resource.vendor_id:
        return []
    standing = vendor_standing(_vendor(erp, resource.vendor_id), max(resource.start_date, today))
    if standing.in_good_standing:
        return []
    return [
        f"vendor {resource.vendor_id}: {_as_of_start(reason, standing.insurance_expires_on, today)} "
        "(read again before the set-up)"
        for reason in standing.reasons
    ]


def set_up_resource(resource: PsaResource, psa: ResourcePsaPort) -> dict[str, Any]:
    """Create the PSA resource, or update the worker's (a rehire or a retry: never a second one)."""
    saved = psa.save_resource(resource)
    return {
        "status": "saved",
        "reasons": [],
        "resource_id": saved.id,
        "created": saved.created,
        "manager_resource_id": saved.manager_resource_id,
        "unknown_skills": list(saved.unknown_skills),
        "unknown_practice": saved.unknown_practice,
    }


# ------------------------------------------------------------------------------------------------------------
# Assign and welcome
# ------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Assignment:
    request_id: str
    project_id: str
    start: date
    end: date
    hours: Decimal


class Holds(Protocol):
    """Which request a hire's welcome took (``assignment_holds.AssignmentHolds``: conditional puts per key)."""

    def held(self, key: str) -> dict[str, str] | None: ...

    def hold(self, key: str, assignment: dict[str, str], previous: str | None) -> bool: ...


def _assignment_of(body: Mapping[str, str]) -> Assignment:
    return Assignment(
        str(body["request_id"]),
        str(body["project_id"]),
        date.fromisoformat(str(body["start"])),
        date.fromisoformat(str(body["end"])),
        Decimal(str(body["hours"])),
    )


def first_assignment(
    resource: PsaResource,
    resource_id: str,
    psa: ResourcePsaPort,
    *,
    case_id: str,
    holds: Holds,
    tries: int = 5,
) -> tuple[Assignment | None, list[str]]:
    """The first staffing request waiting for the role that still runs on the start date, assigned to the new
    resource; a request another hire took meanwhile is passed over (up to ``tries`` requests). Also what was
    passed over, for the trail.

    The request is held for the hire (``holds``) before it is assigned: a retried or repeated step finds the one it
    took (the PSA confirms it is still this worker's) and takes no second one."""
    # One hold per worker's case: a correction moving the start date re-uses the request the hire holds. A rehire
    # (the held request ended before the new start) takes a new one; a change of role keeps the held request (staffing
    # re-points it) and takes no second one.
    key = f"worker#assignment#{case_id}"
    passed: list[str] = []
    held = holds.held(key)
    previous: str | None = None
    if held is not None and held.get("role", resource.role) != resource.role:
        passed.append(
            f"the hire's role changed from {held['role']} to {resource.role}: staffing request "
            f"{held['request_id']} stays held for it and no second request is taken; staffing re-points it"
        )
        return None, passed
    if held is not None and date.fromisoformat(held["end"]) < resource.start_date:
        previous = held["request_id"]  # a rehire: that assignment is over, a new one is taken
        held = None
    if held is not None:
        if psa.assign_resource_request(
            held["request_id"],
            resource_id=resource_id,
            worker_id=resource.worker_id,
            bill_rate=resource.bill_rate,
        ):
            return _assignment_of(held), passed
        previous = held["request_id"]
        passed.append(f"staffing request {previous} was assigned to someone else meanwhile")
    waiting = [r for r in psa.open_resource_requests(resource.role) if r.end >= resource.start_date and r.id]
    for request in waiting[:tries]:
        assert request.id is not None
        if request.id == previous:
            continue
        choice = _assignment_json(
            Assignment(request.id, request.project_id, request.start, request.end, request.hours)
        )
        assert choice is not None
        if not holds.hold(key, {**choice, "role": resource.role}, previous):
            # another run of this step holds a request now: it is the hire's if the PSA says so
            held = holds.held(key)
            if held is not None and psa.assign_resource_request(
                held["request_id"],
                resource_id=resource_id,
                worker_id=resource.worker_id,
                bill_rate=resource.bill_rate,
            ):
                return _assignment_of(held), passed
            previous = held["request_id"] if held else None
            continue
        previous = request.id
        if psa.assign_resource_request(
            request.id, resource_id=resource_id, worker_id=resource.worker_id, bill_rate=resource.bill_rate
        ):
            return _assignment_of(choice), passed
        passed.append(f"staffing request {request.id} was assigned to someone else meanwhile")
    return None, passed


def welcome(
    resource: PsaResource,
    resource_id: str,
    *,
    manager: Mapping[str, Any] | None,
    case_id: str,
    attempt: str,
    psa: ResourcePsaPort,
    mailer: Mailer | None,
    claims: Claims,
    holds: Holds,
) -> dict[str, Any]:
    """The first assignment, then the welcome mail to the worker and the notice to the manager, each sent once per
    attempt (a retried step mails nobody twice). A mail SES could not take now (throttled, down) fails the step for
    its retry; one SES refused for good (a bad address) is reported in ``not_mailed``: the PSA work stands."""
    assignment, passed = first_assignment(resource, resource_id, psa, case_id=case_id, holds=holds)
    mailed: list[str] = []
    not_mailed: list[str] = []
    for kind, to, build in (
        (WELCOME_MAIL, resource.email, _welcome_mail),
        (MANAGER_MAIL, (manager or {}).get("email"), _manager_mail),
    ):
        if not to or mailer is None:
            continue
        key = f"worker#{kind}#{case_id}#{attempt}"
        token = claims.take(key)
        if token is None:
            continue  # sent by an earlier try of this step
        subject, text, html = build(resource, assignment, manager, case_id)
        from backoffice.mail_events import mail_tags

        try:
            mailer.send(to=str(to), subject=subject, text=text, html=html, tags=mail_tags(kind))
        except Exception as error:
            claims.release(key, token)  # not sent: a retry of the step (or a resume) may mail
            refused = _refused(error)
            if refused is None and _transient(
                error
            ):  # throttled, SES down, unreachable: retried (connector_outage)
                raise ConnectorUnavailable(
                    f"SES did not take the {kind} mail: {type(error).__name__}"
                ) from error
            if (
                refused is None
            ):  # access denied, a configuration missing: the step fails, no mail silently skipped
                raise
            # SES refused it for good (a bad address, sending paused): the PSA work stands, the trail says why
            not_mailed.append(f"{kind}: SES refused it ({refused})")
            continue
        claims.done(key, token)
        mailed.append(kind)
    return {
        "assigned": assignment is not None,
        "assignment": _assignment_json(assignment),
        "passed_over": passed,
        "mailed": mailed,
        "not_mailed": not_mailed,
        "worker_mailed": WELCOME_MAIL in mailed,
        "manager_mailed": MANAGER_MAIL in mailed,
    }


_TRANSIENT_SES = {
    "Throttling",
    "ThrottlingException",
    "TooManyRequestsException",
    "ServiceUnavailable",
    "InternalFailure",
    "LimitExceededException",
}


# SES refusing this mail for good (the address, the message): the PSA work stands and the trail says why. Any other
# 4xx (AccessDenied, a configuration set or identity missing, sending paused) is the firm's set-up: the step fails.
_REFUSED_FOR_GOOD = {"MessageRejected", "MailFromDomainNotVerified", "MailFromDomainNotVerifiedException"}


def _code_and_status(error: Exception) -> tuple[str, int] | None:
    response = getattr(error, "response", None)
    if not isinstance(response, Mapping):
        return None
    code = str((response.get("Error") or {}).get("Code") or "")
    return code, int((response.get("ResponseMetadata") or {}).get("HTTPStatusCode") or 0)


def _refused(error: Exception) -> str | None:
    """SES's code when it refused this mail for good (``_REFUSED_FOR_GOOD``); None otherwise."""
    found = _code_and_status(error)
    return found[0] if found and found[0] in _REFUSED_FOR_GOOD else None


def _transient(error: Exception) -> bool:
    """The failure may pass: throttling, a 5xx, no answer at all."""
    found = _code_and_status(error)
    if found is None:
        return True
    code, status = found
    return not code or code in _TRANSIENT_SES or status >= 500 or status == 429


def _assignment_json(assignment: Assignment | None) -> dict[str, Any] | None:
    if assignment is None:
        return None
    return {
        "request_id": assignment.request_id,
        "project_id": assignment.project_id,
        "start": assignment.start.isoformat(),
        "end": assignment.end.isoformat(),
        "hours": str(assignment.hours),
    }


def _first_day(resource: PsaResource, assignment: Assignment | None) -> list[str]:
    lines = [
        f"Start date: {resource.start_date.isoformat()}",
        f"Role: {resource.role.replace('_', ' ')}" + (f", {resource.practice}" if resource.practice else ""),
        f"Availability: {plain(resource.weekly_hours)} hours a week",
    ]
    if assignment is not None:
        lines.append(
            f"First project: {assignment.project_id}, {assignment.start.isoformat()} to "
            f"{assignment.end.isoformat()}"
        )
    return lines


def _welcome_mail(
    resource: PsaResource, assignment: Assignment | None, manager: Mapping[str, Any] | None, case_id: str
) -> tuple[str, str, str]:
    from backoffice.html import render  # jinja2 only when a mail is sent

    facts = _first_day(resource, assignment)
    manager_name = (manager or {}).get("name")
    subject = f"Welcome, {resource.name}: your start on {resource.start_date.isoformat()}"
    text = "\n".join(
        [
            f"Welcome, {resource.name}.",
            "",
            *facts,
            *([f"Your manager: {manager_name}"] if manager_name else []),
            "",
            "You can record time in the PSA from your start date.",
        ]
    )
    html = render(
        "resource_onboarding/welcome_email.html.j2",
        name=resource.name,
        facts=facts,
        manager_name=manager_name,
        case_id=case_id,
    )
    return subject, text, html


def _manager_mail(
    resource: PsaResource, assignment: Assignment | None, manager: Mapping[str, Any] | None, case_id: str
) -> tuple[str, str, str]:
    from backoffice.html import render  # jinja2 only when a mail is sent

    facts = _first_day(resource, assignment)
    subject = f"{resource.name} joins your team on {resource.start_date.isoformat()}"
    text = "\n".join(
        [
            f"{resource.name} is set up as a resource in the PSA and reports to you.",
            "",
            *facts,
            *(["No staffing request waits for the role yet."] if assignment is None else []),
            "",
            f"Case {case_id}.",
        ]
    )
    html = render(
        "resource_onboarding/manager_email.html.j2",
        name=resource.name,
        facts=facts,
        assigned=assignment is not None,
        case_id=case_id,
    )
    return subject, text, html
