"""'Check the project budget': what the project has spent and committed, this request, against its budget; and who
approves the purchase.

    committed (the project's open purchase orders in the ERP) + actual cost (the PSA) + this request  >  budget
        -> over budget: the approval chain's first rule sends it to the project owner, then finance

A project with no approved budget in the PSA counts as over budget (nobody has said what it may spend). The chain
itself is the approval policy's route ``purchase_approval`` (``approvals.routing.DEFAULT_ROUTES`` unless the firm
names its own): its rules read the amount, the category (``vendor_category``) and whether the purchase is over
budget (``owner``: ``over_budget`` or ``within_budget``). The people are the case's (``subject:<name>``): the
project owner from the PSA and HRIS, finance and the fallback from the approval policy's groups. The requester is
the approval's requester, so routing and the decision page keep them out as approver, delegate and decider
(separation of duties); where that leaves a level with nobody, the fallback group approves in their place.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from backoffice.approvals.policy import ApprovalPolicy
from backoffice.connectors.ports import HrisPort, ProjectBudgetPsaPort, PurchasingErpPort, all_pages
from backoffice.models import ProjectBudget, PurchaseRequested, Worker
from backoffice.purchasing.policy import PurchasingPolicy
from backoffice.purchasing.requests import money

OVER_BUDGET, WITHIN_BUDGET = "over_budget", "within_budget"


@dataclass(frozen=True)
class BudgetCheck:
    """The budget rule's figures, all in the project's currency."""

    budget: Decimal | None
    actual_cost: Decimal
    committed: Decimal
    requested: Decimal
    currency: str

    @property
    def total(self) -> Decimal:
        return self.committed + self.actual_cost + self.requested

    @property
    def over_budget(self) -> bool:
        return self.budget is None or self.total > self.budget

    def reason(self) -> str:
        figures = (
            f"committed {money(self.committed, self.currency)} + actual {money(self.actual_cost, self.currency)} "
            f"+ this request {money(self.requested, self.currency)} = {money(self.total, self.currency)}"
        )
        if self.budget is None:
            return f"{figures}; the PSA holds no approved budget for the project: treated as over budget"
        verdict = "over" if self.over_budget else "within"
        return f"{figures}, {verdict} the budget of {money(self.budget, self.currency)}"


def budget_check(detail: PurchaseRequested, project: ProjectBudget, erp: PurchasingErpPort) -> BudgetCheck:
    return BudgetCheck(
        budget=project.budget,
        actual_cost=project.actual_cost,
        committed=erp.committed_amount(detail.project_id, project.currency),
        requested=detail.amount,
        currency=project.currency,
    )


def _members(policy: ApprovalPolicy | None, group: str, requester: str) -> list[str]:
    found = list(policy.groups.get(group, ())) if policy is not None else []
    return [email for email in found if email != requester]


def _owner_email(project: ProjectBudget, workers: Iterable[Worker]) -> str | None:
    """The project owner's e-mail: the HRIS worker the PSA names by id, else the one of the e-mail the PSA gives
    (Certinia: the project manager Contact's), else that e-mail as the PSA has it."""
    by_id = {worker.id: worker for worker in workers}
    wanted = (project.owner_email or "").strip().lower()
    owner = by_id.get(project.owner_id or "") or next(
        (w for w in by_id.values() if wanted and w.email and str(w.email).lower() == wanted), None
    )
    if owner is not None and owner.email:
        return str(owner.email).lower()
    return wanted or None


def check_budget(
    detail: PurchaseRequested,
    *,
    vendor_name: str,
    budgets: ProjectBudgetPsaPort,
    erp: PurchasingErpPort,
    hris: HrisPort,
    policy: PurchasingPolicy,
    approval_policy: ApprovalPolicy | None,
) -> dict[str, Any]:
    """The budget check and the approval subject: what the approvers read and what routing reads."""
    project = budgets.project_budget(detail.project_id)
    check = budget_check(detail, project, erp)
    requester = str(detail.requester_email).lower()
    owner_email = _owner_email(project, all_pages(hris.list_workers))
    fallback = _members(approval_policy, policy.fallback_group, requester)
    notes: list[str] = []
    if owner_email == requester:
        notes.append(
            f"the project owner ({owner_email}) requested this purchase and cannot approve it: "
            f"{policy.fallback_group} approve in their place"
        )
    elif owner_email is None:
        notes.append(
            f"project {detail.project_id} names no owner with an e-mail: {policy.fallback_group} approve"
        )
    project_owner = [owner_email] if owner_email and owner_email != requester else fallback
    finance = _members(approval_policy, policy.finance_group, requester) or fallback
    vendor = vendor_name
    title = f"Purchase {detail.request_id}: {detail.category} from {vendor}, {money(detail.amount, detail.currency)}"
    subject = {
        "title": title,
        "summary": (
            f"{detail.description} (project {project.project_name or detail.project_id}, requested by "
            f"{requester}). Approve: the purchase order is issued to the vendor. Reject: the purchase stops and "
            "the requester is told why."
        ),
        "amount": str(detail.amount),
        "currency": detail.currency,
        "vendor_category": detail.category,
        "owner": OVER_BUDGET if check.over_budget else WITHIN_BUDGET,
        "project_id": detail.project_id,
        "reasons": [check.reason(), *notes],
        "approvers": {"project_owner": project_owner, "finance": finance, "fallback": fallback},
    }
    return {
        "over_budget": check.over_budget,
        "subject": subject,
        "requested_by": requester,
        "figures": {
            "budget": None if check.budget is None else str(check.budget),
            "actual_cost": str(check.actual_cost),
            "committed": str(check.committed),
            "requested": str(check.requested),
            "total": str(check.total),
            "currency": check.currency,
        },
        "reasons": [check.reason(), *notes],
    }
