"""What a firm configures about the weekly time and expense review: the section ``time_expense_review`` of its
configuration document, read with ``firm_settings.firm_policy``. Every field has a default, so a firm may leave the
section out (the sample firm does: its document must stay small)."""

from __future__ import annotations

from pydantic import ConfigDict, Field

from backoffice.models.envelope import JsonModel


class TimeExpensePolicy(JsonModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # Lines the scorer does not send to a person are approved in the PSA as soon as they are submitted ("by":
    # "policy"); False: every line of a submission waits for the project manager.
    auto_approve_clean: bool = True
    # The approval policy's group whose members approve flagged expenses after the project manager (the "expense
    # approver"); a firm without that group has its expenses approved by the project manager alone.
    expense_approver_group: str = "finance"
    # The approval policy's group that reviews when a project names no manager with an e-mail, when the manager is
    # the worker (nobody approves their own time), and when a level is not answered in time (escalation).
    reviewer_group: str = "engagement_partners"
    # How far back an expense report's lines are looked for in the PSA (a report may carry older receipts).
    expense_lookback_days: int = Field(default=92, ge=7, le=400)
