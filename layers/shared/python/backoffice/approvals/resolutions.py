"""What an approver may choose to do with a request beyond approve or reject.

Most approvals are a yes or a no. Some ask the approver to say how something is settled: a reconciliation
finding is acknowledged, fixed in the PSA, fixed in the ERP or written off. The workflow lists the choices in the
request's subject (``resolutions``: value, label, whether a reason is required), so they are covered by the
subject's hash like everything else the approver was shown; approving means choosing one of them, and the choice
goes back to the workflow with the decision. Rejecting stays rejecting ("not mine", "I disagree"), with its
comment.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Resolution:
    value: str
    label: str
    reason_required: bool = False


def resolutions_of(subject: Mapping[str, Any]) -> tuple[Resolution, ...]:
    """The choices the request offers (none: a plain approve or reject)."""
    return tuple(
        Resolution(
            str(item["value"]), str(item.get("label") or item["value"]), bool(item.get("reason_required"))
        )
        for item in subject.get("resolutions") or ()
    )


def refusal(
    subject: Mapping[str, Any], decision: str, resolution: str, comment: str, chosen_before: str | None = None
) -> str | None:
    """Why the decision cannot be taken as sent (shown on the page, nothing decided), or None. ``chosen_before``:
    what an earlier approval of the level chose; the approvals of one level agree on what is done."""
    choices = resolutions_of(subject)
    if decision != "approve" or not choices:
        return None
    chosen = next((choice for choice in choices if choice.value == resolution), None)
    if chosen is None:
        return "Choose what is to be done: " + ", ".join(choice.label for choice in choices) + "."
    if chosen.reason_required and not comment.strip():
        return f"Please give the reason in the comment: {chosen.label} needs one."
    if chosen_before and chosen_before != chosen.value:
        before = next((choice.label for choice in choices if choice.value == chosen_before), chosen_before)
        return (
            f"Another approver of this level chose: {before}. Approve with the same choice, or reject and say "
            "why. Nothing was decided."
        )
    return None
