"""The decisions of resource onboarding, as pure functions over the hire's record (no AWS, no ports).

- ``record_problems``: what makes the HRIS's record unusable (a subcontractor without a vendor, a manager who is
  not in the HRIS or is the worker, a role the firm's card does not rate);
- ``document_problems``: the worker's own documents the firm requires for the kind of employment, signed and in
  force on the start date;
- ``check_rate``: the bill rate (proposed, else the card's) against its band: at least the floor (cost / (1 -
  minimum margin)), at most the card's rate for the role. Out of band goes to the practice lead, never blocked.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_CEILING, Decimal

from backoffice.models import RateCard, Worker
from backoffice.models.events import WorkerHired
from backoffice.resource_onboarding.policy import ResourceOnboardingPolicy

CENT = Decimal("0.01")
# How a document kind reads in a reason (an unknown kind reads as itself, underscores as spaces).
DOCUMENT_NAMES = {
    "nda": "signed NDA",
    "right_to_work": "right-to-work document",
    "background_check": "background check",
}


def plain(value: Decimal) -> str:
    """A number as people write it: ``40``, ``37.5``, ``35`` (never ``4E+1``, as ``Decimal.normalize`` prints)."""
    return f"{value.normalize():f}"


def document_name(kind: str) -> str:
    return DOCUMENT_NAMES.get(kind, kind.replace("_", " "))


@dataclass(frozen=True)
class RateCheck:
    card_rate: Decimal | None  # the card's bill rate for the role; None: the card does not rate it
    bill_rate: Decimal | None  # the rate the resource is set up with (proposed, else the card's)
    floor: Decimal  # cost / (1 - minimum margin)
    cost: Decimal
    reasons: tuple[str, ...]  # why the rate is out of band; empty: in band

    @property
    def in_band(self) -> bool:
        return self.card_rate is not None and not self.reasons

    @property
    def margin(self) -> Decimal | None:
        """The bill rate's margin over the cost, as a fraction (None without a bill rate)."""
        if not self.bill_rate:
            return None
        return ((self.bill_rate - self.cost) / self.bill_rate).quantize(Decimal("0.0001"))


def floor_rate(cost_rate: Decimal, minimum_margin: Decimal) -> Decimal:
    """The lowest bill rate that keeps the minimum margin over ``cost_rate``, rounded up to the cent."""
    return (cost_rate / (1 - minimum_margin)).quantize(CENT, rounding=ROUND_CEILING)


def card_rate(card: RateCard | None, role: str, currency: str, activity_type: str) -> Decimal | None:
    """The card's bill rate for the role in the currency: the line of the policy's activity, else the role's only
    line; None when the card does not rate the role."""
    if card is None:
        return None
    lines = [line for line in card.lines if line.role == role and line.currency == currency]
    chosen = [line for line in lines if line.activity_type == activity_type] or lines[:1]
    return chosen[0].billing_rate if chosen else None


def check_rate(detail: WorkerHired, card: RateCard | None, policy: ResourceOnboardingPolicy) -> RateCheck:
    rate = card_rate(card, detail.role, detail.currency, policy.activity_type)
    floor = floor_rate(detail.cost_rate, policy.minimum_margin)
    bill = detail.bill_rate if detail.bill_rate is not None else rate
    reasons: list[str] = []
    margin = f"{plain(policy.minimum_margin * 100)}%"
    if bill is not None and bill < floor:
        reasons.append(
            f"bill rate {bill} {detail.currency} is below the floor {floor} (cost {detail.cost_rate} at the "
            f"minimum margin of {margin})"
        )
    if bill is not None and rate is not None and bill > rate:
        reasons.append(f"bill rate {bill} {detail.currency} is above the card's {rate} for {detail.role}")
    return RateCheck(rate, bill, floor, detail.cost_rate, tuple(reasons))


def record_problems(
    detail: WorkerHired, *, manager: Worker | None, card_rate_found: bool, card_currency_found: bool
) -> list[str]:
    """What makes the hire's record unusable: each a reason the HRIS's owner can act on."""
    problems: list[str] = []
    if detail.employment == "subcontractor" and not detail.vendor_id:
        problems.append("a subcontractor worker names no vendor (vendor_id): whose worker are they?")
    if detail.manager_id is None:
        problems.append("the record names no manager (manager_id)")
    elif detail.manager_id == detail.worker_id:
        problems.append("the worker is named as their own manager")
    elif manager is None:
        problems.append(f"the manager {detail.manager_id} is not in the HRIS")
    elif not manager.is_active:
        problems.append(f"the manager {detail.manager_id} is no longer active in the HRIS")
    if not card_currency_found:
        problems.append(f"the firm has no standard rate card in {detail.currency}")
    elif not card_rate_found:
        problems.append(f"the firm's rate card has no rate for the role {detail.role} in {detail.currency}")
    if detail.cost_rate <= 0:
        problems.append("the cost rate is 0: the HRIS record has no pay or vendor rate")
    return problems


def document_problems(
    detail: WorkerHired, policy: ResourceOnboardingPolicy, as_of: date | None = None
) -> list[str]:
    """The required documents missing, unsigned or not in force on the start date (or ``as_of``, if later)."""
    when = max(detail.start_date, as_of) if as_of else detail.start_date
    on_file = {document.kind: document for document in detail.documents}
    problems: list[str] = []
    for kind in policy.required_documents.get(detail.employment, ()):
        document = on_file.get(kind)
        name = document_name(kind)
        if document is None:
            problems.append(f"the worker's {name} is missing")
        elif document.signed_on is None:
            problems.append(f"the worker's {name} is not signed")
        elif document.expires_on is not None and document.expires_on <= when:
            problems.append(f"the worker's {name} expired on {document.expires_on.isoformat()}")
    return problems


def practice_leads(
    workers: Iterable[Worker], practice: str | None, role: str, *, besides: Iterable[str] = ()
) -> list[str]:
    """The e-mails of the practice's leads in the HRIS (active, holding ``role``), without ``besides`` (the worker
    and whoever asked: nobody approves their own rate)."""
    left_out = {str(e).lower() for e in besides if e}
    found = [
        str(w.email).lower()
        for w in workers
        if practice and w.practice == practice and w.is_active and role in w.roles and w.email
    ]
    return [e for e in dict.fromkeys(found) if e not in left_out]
