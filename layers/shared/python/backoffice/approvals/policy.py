"""Who approves what: routing rules, levels, quorum, timeouts, reminders and delegation, as validated data.

A firm writes this as the ``approval_policy`` of its configuration document (``config/sample-firm.json`` is the sample
firm's), which the deploy validates and stores in SSM; ``APPROVAL_POLICY`` (the document) or ``APPROVAL_POLICY_FILE``
override it. The layer carries no firm's approvers: a function with none of these refuses to route (``ApprovalPolicyMissing``)
rather than mail a sample firm's people. Nothing about approvers is hard-coded in the workflows: a workflow names a
route (``contract_review``, ``billing_exceptions``, ``invoice_release``, ``vendor_onboarding``) and hands over the
subject's facts; the first rule of that route whose conditions the facts meet gives the levels.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import ConfigDict, Field, field_validator, model_validator

from backoffice.firm_settings import firm_config_section
from backoffice.models.envelope import Model

# A level's group named ``subject:<name>`` is not one of the policy's groups: its approvers come with the subject
# (``subject["approvers"][<name>]``), for people only the case knows, such as a project's manager.
SUBJECT_GROUP = "subject:"


def subject_group(group: str | None) -> bool:
    return bool(group) and str(group).startswith(SUBJECT_GROUP)


class ApprovalPolicyMissing(RuntimeError):
    """No approval policy is configured: nobody can be asked, and nobody is guessed."""


class _Strict(Model):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Conditions(_Strict):
    """When a rule applies. Every condition given must hold; none given means always."""

    min_amount: Decimal | None = None
    max_amount: Decimal | None = None
    clients: tuple[str, ...] = ()
    service_lines: tuple[str, ...] = ()
    vendor_categories: tuple[str, ...] = ()
    min_risk_score: float | None = None
    min_anomaly_score: float | None = None
    risk_levels: tuple[str, ...] = ()
    # Who a finding belongs to (a reconciliation finding's suggested owner: billing, project_manager, ...).
    owners: tuple[str, ...] = ()

    def met_by(self, facts: ApprovalFacts) -> bool:
        checks = [
            self.min_amount is None or (facts.amount is not None and facts.amount >= self.min_amount),
            self.max_amount is None or (facts.amount is not None and facts.amount < self.max_amount),
            not self.clients or facts.client in self.clients,
            not self.service_lines or facts.service_line in self.service_lines,
            not self.vendor_categories or facts.vendor_category in self.vendor_categories,
            self.min_risk_score is None or (facts.risk_score or 0.0) >= self.min_risk_score,
            self.min_anomaly_score is None or (facts.anomaly_score or 0.0) >= self.min_anomaly_score,
            not self.risk_levels or facts.risk_level in self.risk_levels,
            not self.owners or facts.owner in self.owners,
        ]
        return all(checks)


class Level(_Strict):
    """One sequential level: ``quorum`` of the group's approvers must approve (N of M).

    When nobody decides within ``timeout_seconds`` the level escalates once to ``escalate_to`` (the old links die,
    new ones go out); when that times out too, or there is no escalation group, the case takes the workflow's
    timeout outcome. A level is never skipped because its approvers were slow.
    """

    name: str
    group: str
    quorum: int = Field(default=1, ge=1)
    # Rejections that reject the level. One by default: a reasoned "no" from anyone asked stops the case
    # (it can be asked again); a firm may require more. The level is also rejected once the approvals left
    # possible can no longer reach the quorum.
    reject_quorum: int = Field(default=1, ge=1)
    timeout_seconds: int = Field(default=3 * 24 * 3600, ge=1)
    escalate_to: str | None = None


class Rule(_Strict):
    name: str
    when: Conditions = Conditions()
    levels: tuple[Level, ...] = Field(min_length=1)


class Delegation(_Strict):
    """Out of office: ``delegate`` approves for ``approver`` from ``start`` to ``end`` (both inclusive)."""

    approver: str
    delegate: str
    start: date
    end: date

    @model_validator(mode="after")
    def _ordered(self) -> Delegation:
        if self.end < self.start:
            raise ValueError(f"delegation of {self.approver} ends before it starts")
        return self


class ApprovalPolicy(_Strict):
    groups: dict[str, tuple[str, ...]]
    routes: dict[str, tuple[Rule, ...]]
    delegations: tuple[Delegation, ...] = ()
    reminder_after_seconds: int = Field(default=24 * 3600, ge=60)
    comment_required_on_reject: bool = True

    @field_validator("groups")
    @classmethod
    def _lower_case(cls, groups: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
        return {name: tuple(a.strip().lower() for a in members) for name, members in groups.items()}

    @model_validator(mode="after")
    def _groups_exist(self) -> ApprovalPolicy:
        for route, rules in self.routes.items():
            for rule in rules:
                for level in rule.levels:
                    for group in (level.group, level.escalate_to):
                        if group is not None and group not in self.groups and not subject_group(group):
                            raise ValueError(f"route {route}, rule {rule.name}: unknown group {group!r}")
                    if not subject_group(level.group) and level.quorum > len(self.groups[level.group]):
                        raise ValueError(
                            f"route {route}, rule {rule.name}: quorum {level.quorum} exceeds the "
                            f"{len(self.groups[level.group])} members of {level.group!r}"
                        )
        return self


class ApprovalFacts(_Strict):
    """The facts of a subject that routing reads (the full subject is shown to approvers, not routed on)."""

    amount: Decimal | None = None
    currency: str | None = None
    client: str | None = None
    service_line: str | None = None
    vendor_category: str | None = None
    risk_score: float | None = None
    risk_level: str | None = None
    anomaly_score: float | None = None
    owner: str | None = None


def load_policy(environ: Mapping[str, str] | None = None) -> ApprovalPolicy:
    """The firm's approval policy: ``APPROVAL_POLICY`` (the document itself) first, else the ``approval_policy``
    of the firm's configuration in SSM (``FIRM_CONFIG_PARAMETER``, the document the deploy validated; read with
    Powertools Parameters and kept ``FIRM_CONFIG_MAX_AGE`` seconds, 300 by default: ``backoffice.firm_settings``),
    else the file ``APPROVAL_POLICY_FILE`` names; none of them: ``ApprovalPolicyMissing``."""
    env = os.environ if environ is None else environ
    if env.get("APPROVAL_POLICY"):
        return _parse(env["APPROVAL_POLICY"])
    section = firm_config_section("approval_policy", env)
    if section is not None:
        return _parse(json.dumps(section, sort_keys=True))
    if env.get("APPROVAL_POLICY_FILE"):
        return _parse(Path(env["APPROVAL_POLICY_FILE"]).read_text())
    raise ApprovalPolicyMissing(
        "no approval policy: the firm configuration document has no approval_policy (deploy it with one: "
        "make synth CONFIG=firm.json), and neither APPROVAL_POLICY nor APPROVAL_POLICY_FILE is set"
    )


@lru_cache(maxsize=8)
def _parse(text: str) -> ApprovalPolicy:
    return ApprovalPolicy.model_validate(json.loads(text))


def policy_json(policy: ApprovalPolicy) -> str:
    return policy.model_dump_json()


def as_facts(subject: dict[str, Any]) -> ApprovalFacts:
    known = set(ApprovalFacts.model_fields)
    return ApprovalFacts.model_validate({k: v for k, v in subject.items() if k in known and v is not None})
