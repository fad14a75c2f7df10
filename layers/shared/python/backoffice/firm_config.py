"""The firm's configuration: one document of what differs from firm to firm, checked before anything deploys.

A firm writes one JSON document (``config/sample-firm.json`` is the sample firm's) and deploys with it:
``make synth -c config=firm.json`` (or ``cdk deploy -c config=...``). The synth validates it with these models and
stops on the first invalid document with one line per problem, naming the field and the reason; ``backoffice
config validate FILE`` gives the same lines before a deploy. What it sets: the sender address of every e-mail,
the adapter that serves each system and the billing policy (catalog settings the stack reads), and the approval
policy with the firm's approvers and delegations: the stack writes the document to SSM
(``/backoffice/firm-config``, ``infra/firm_config.py``) and the approval functions read it from there
(``approvals/policy.py``), as the contract risk step reads its contract risk policy and the vendor assessment its
vendor policy (``backoffice/firm_settings.py``); and where the sanctions list comes from (OFAC's files, a mirror,
or the sample list; ``vendors/sanctions_lists.py``).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import ConfigDict, Field, ValidationError, field_validator

from backoffice.approvals.policy import ApprovalPolicy
from backoffice.assist.config import AiAssistConfig
from backoffice.delivery.policy import DeliveryPolicy
from backoffice.finance_close.reconciliation_policy import ReconciliationPolicy
from backoffice.finance_close.revenue_policy import RevenuePolicy
from backoffice.invoicing.policy import BillingPolicy
from backoffice.models.envelope import Model
from backoffice.onboarding.contract_risk import ContractRiskPolicy
from backoffice.purchasing.policy import PurchasingPolicy
from backoffice.resource_onboarding.policy import ResourceOnboardingPolicy
from backoffice.time_expense.policy import TimeExpensePolicy
from backoffice.time_expense.reminders_policy import ReminderPolicy
from backoffice.vendors.policy import VendorPolicy
from backoffice.vendors.sanctions_lists import SanctionsSources

_ADDRESS = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class FirmConfigInvalid(Exception):
    """The document is not a valid firm configuration; ``problems`` are one line each (field: reason)."""

    def __init__(self, source: str, problems: list[str]) -> None:
        super().__init__(f"{source}: " + "; ".join(problems))
        self.source, self.problems = source, problems


class Connectors(Model):
    """Which adapter serves each system (connectors/wiring.py builds them)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    crm: Literal["sandbox", "salesforce", "rest"] = "sandbox"
    psa: Literal["sandbox", "salesforce", "rest"] = "sandbox"  # salesforce: Certinia on the firm's org
    erp: Literal["sandbox", "netsuite", "rest"] = "sandbox"
    hris: Literal["sandbox", "rest"] = "sandbox"


class FirmConfig(Model):
    model_config = ConfigDict(extra="forbid", frozen=True)

    firm: str = Field(min_length=1, description="the firm's name, as people read it in mails and reports")
    sender: str = Field(description="the address every e-mail is sent from (an SES identity in the account)")
    # Which SES identity the stack creates for the sender: the address alone (verified by a link SES mails to it),
    # its whole domain (verified by Easy DKIM's three CNAME records, which also sign every mail), or none: the
    # account already has it ("existing": verified by hand before, or another stack's).
    sender_identity: Literal["address", "domain", "existing"] = "address"
    notification_recipients: tuple[str, ...] = ()
    # Who gets the weekly process report's link (the process owners); empty: the notification recipients.
    process_report_recipients: tuple[str, ...] = ()
    connectors: Connectors = Connectors()
    billing_policy: BillingPolicy = BillingPolicy()
    # Required: the layer carries no firm's approvers, so without it no approval could be routed.
    approval_policy: ApprovalPolicy
    # Absent: the packaged defaults (DOMAIN.md); the functions read these sections from SSM (firm_settings.py).
    contract_risk_policy: ContractRiskPolicy | None = None
    vendor_policy: VendorPolicy | None = None
    # The finance close: which reconciliation findings go to a person, and how revenue is recognized and booked.
    reconciliation_policy: ReconciliationPolicy | None = None
    revenue_policy: RevenuePolicy | None = None
    # The monthly delivery measurement: standard week, public holidays, leave, base currency (defaults in code).
    delivery_policy: DeliveryPolicy | None = None
    # Missing-timesheet reminders: the firm's week, due time, escalation delay, tolerance (defaults in code).
    timesheet_reminders: ReminderPolicy | None = None
    # The weekly time and expense review: auto-approval of clean lines, who approves expenses (defaults in code).
    time_expense_review: TimeExpensePolicy | None = None
    # -- purchasing ----: purchase approval's travel limit, finance and fallback groups, vendor wait (defaults in code).
    purchasing: PurchasingPolicy | None = None
    # -- resource onboarding: the minimum margin a bill rate keeps, the documents per employment, who approves a
    # rate out of band (defaults in code) --
    resource_onboarding: ResourceOnboardingPolicy | None = None
    sanctions_list: SanctionsSources = SanctionsSources()
    # -- ai assist (issue #23): which uses Bedrock serves, model, prices, kill switch (off by default: local rules)
    ai_assist: AiAssistConfig | None = None

    @field_validator("sender")
    @classmethod
    def _an_address(cls, value: str) -> str:
        if not _ADDRESS.match(value):
            raise ValueError("is not an e-mail address")
        return value

    @field_validator("notification_recipients", "process_report_recipients")
    @classmethod
    def _addresses(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        wrong = [v for v in values if not _ADDRESS.match(v)]
        if wrong:
            raise ValueError(f"{', '.join(wrong)} is not an e-mail address")
        return values

    def report_recipients(self) -> tuple[str, ...]:
        """Who the weekly process report is mailed to: its own list, else the notification recipients."""
        return self.process_report_recipients or self.notification_recipients

    def settings(self) -> dict[str, str]:
        """The catalog settings the document sets (CDK context of the same names overrides them at synth)."""
        return {
            "approvals_sender": self.sender,
            "sender_identity": self.sender_identity,
            "connector_crm": self.connectors.crm,
            "connector_psa": self.connectors.psa,
            "connector_erp": self.connectors.erp,
            "connector_hris": self.connectors.hris,
            "billing_policy": self.billing_policy.model_dump_json(exclude_defaults=True),
            "sanctions_sources": self.sanctions_list.model_dump_json(exclude_defaults=True),
            "ai_assist": (self.ai_assist or AiAssistConfig()).stack_setting(),
        }


def parse_firm_config(document: Any, source: str) -> FirmConfig:
    """The document as a ``FirmConfig``, or ``FirmConfigInvalid`` naming each field and reason in one line."""
    try:
        return FirmConfig.model_validate(document)
    except ValidationError as error:
        raise FirmConfigInvalid(source, [_problem(e) for e in error.errors()]) from None


def load_firm_config(path: Path) -> FirmConfig:
    try:
        document = json.loads(path.read_text())
    except FileNotFoundError:
        raise FirmConfigInvalid(str(path), ["no such file"]) from None
    except json.JSONDecodeError as error:
        raise FirmConfigInvalid(str(path), [f"line {error.lineno}: not valid JSON ({error.msg})"]) from None
    return parse_firm_config(document, str(path))


def _problem(error: Any) -> str:
    where = ".".join(str(part) for part in error["loc"]) or "(the document)"
    reason = str(error["msg"]).removeprefix("Value error, ")
    return f"{where}: {reason}"


def main(argv: list[str] | None = None) -> int:
    """``python -m backoffice.firm_config FILE``: the catalog settings the document sets, as JSON; or its problems.

    The synth runs this in its own interpreter (``infra/cdk_app.py``: the CDK app imports nothing of the product's
    package, so the product's models validate the document there)."""
    import sys

    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m backoffice.firm_config FILE", file=sys.stderr)
        return 2
    try:
        config = load_firm_config(Path(args[0]))
    except FirmConfigInvalid as invalid:
        for problem in invalid.problems:
            print(f"{invalid.source}: {problem}", file=sys.stderr)
        return 1
    print(json.dumps(config.settings()))
    return 0


__all__ = ["Connectors", "FirmConfig", "FirmConfigInvalid", "load_firm_config", "main", "parse_firm_config"]

if __name__ == "__main__":
    raise SystemExit(main())
