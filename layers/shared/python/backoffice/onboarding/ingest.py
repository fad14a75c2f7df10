"""Salesforce's own events (Event Relay to EventBridge) turned into the canonical ``Opportunity Closed Won``.

Salesforce sends Change Data Capture events (``OpportunityChangeEvent``: only the changed fields, the record ids in
the ``ChangeEventHeader``) or a platform event a firm defines (``Opportunity_Closed_Won__e`` with
``OpportunityId__c``). Neither carries the account, and a change event may be any update, so the ingest step reads
the opportunity and its account from the CRM and emits the canonical event only for a closed and won deal. The
canonical event then starts the case like any other; the opportunity id keeps it one case however it arrived.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from backoffice.connectors.ports import CrmPort

CHANGE_EVENT = "OpportunityChangeEvent"
PLATFORM_EVENT = "Opportunity_Closed_Won__e"


@dataclass(frozen=True)
class IngestDecision:
    opportunity_id: str
    detail: dict[str, Any] | None  # the canonical detail, or None when the deal is not closed-won
    reason: str


def opportunity_ids(event: Mapping[str, Any]) -> list[str]:
    """The opportunities a Salesforce event is about (none when it is about something else)."""
    payload = (event.get("detail") or {}).get("payload") or {}
    if event.get("detail-type") == CHANGE_EVENT:
        header = payload.get("ChangeEventHeader") or {}
        if header.get("entityName") != "Opportunity" or header.get("changeType") == "DELETE":
            return []
        if "StageName" in payload and payload["StageName"] != "Closed Won":
            return []
        return [str(i) for i in header.get("recordIds") or []]
    if event.get("detail-type") == PLATFORM_EVENT and payload.get("OpportunityId__c"):
        return [str(payload["OpportunityId__c"])]
    return []


def closed_won_details(event: Mapping[str, Any], crm: CrmPort) -> list[IngestDecision]:
    decisions = []
    for opportunity_id in opportunity_ids(event):
        opportunity = crm.get_opportunity(opportunity_id)
        if not (opportunity.is_closed and opportunity.is_won):
            decisions.append(
                IngestDecision(
                    opportunity_id, None, f"opportunity {opportunity_id} is not closed-won in the CRM"
                )
            )
            continue
        client = crm.get_account(opportunity.account_id)
        detail = {
            "opportunity": opportunity.to_json_dict(),
            "client": client.to_json_dict(reveal_secrets=True),
        }
        decisions.append(
            IngestDecision(opportunity_id, detail, f"opportunity {opportunity_id} is closed-won")
        )
    return decisions
