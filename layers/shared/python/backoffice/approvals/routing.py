"""Routing: which levels a subject needs and who may approve each level today.

Separation of duties is applied here and checked again when a decision arrives: the requester never approves their
own case, and nobody approves two levels of the same case. Delegation (out of office) replaces an approver with the
delegate for the dates given, and the decision records on whose behalf it was made.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from backoffice.approvals.policy import (
    SUBJECT_GROUP,
    ApprovalFacts,
    ApprovalPolicy,
    Conditions,
    Level,
    Rule,
    subject_group,
)

# Routes the product defines for a firm whose approval policy leaves them out (a firm's own route of the same name
# wins). The weekly time and expense review asks the people the case names: the project's manager, then, for
# expenses, the firm's expense approvers; the reviewers (the case's fallback group) take a level nobody answered.
_TWO_DAYS = 2 * 24 * 3600


def _level(name: str, group: str, escalate_to: str) -> Level:
    """A level of a default route: the case's ``group`` decides within two days, else its ``escalate_to`` group."""
    return Level(
        name=name,
        group=f"{SUBJECT_GROUP}{group}",
        timeout_seconds=_TWO_DAYS,
        escalate_to=f"{SUBJECT_GROUP}{escalate_to}",
    )


_PROJECT_MANAGER = _level("project manager review", "project_manager", "reviewers")
_PROJECT_OWNER = _level("project owner approval", "project_owner", "fallback")
_PURCHASE_FINANCE = _level("finance approval", "finance", "fallback")

DEFAULT_ROUTES: Mapping[str, tuple[Rule, ...]] = {
    "time_expense_review": (
        Rule(
            name="flagged expenses: the project manager, then the expense approver",
            when=Conditions(owners=("expenses",)),
            levels=(_PROJECT_MANAGER, _level("expense approval", "expense_approver", "reviewers")),
        ),
        Rule(name="flagged time: the project manager", levels=(_PROJECT_MANAGER,)),
    ),
    # -- purchasing ----: the purchase approval chain by amount and category (``purchasing/budget.py`` names the
    # case's people: the project owner, finance, the fallback who stands in for an owner who is the requester).
    # Rules in order, the first that matches decides; a purchase none matches (software under 1,000 within budget)
    # is approved by the policy. ``owner`` says whether the purchase is over the project's budget.
    "purchase_approval": (
        Rule(
            name="over budget: the project owner, then finance",
            when=Conditions(owners=("over_budget",)),
            levels=(_PROJECT_OWNER, _PURCHASE_FINANCE),
        ),
        Rule(
            name="25,000 or more: the project owner, then finance",
            when=Conditions(min_amount=Decimal(25000)),
            levels=(_PROJECT_OWNER, _PURCHASE_FINANCE),
        ),
        Rule(
            name="subcontractor work orders: the project owner",
            when=Conditions(vendor_categories=("subcontractor",)),
            levels=(_PROJECT_OWNER,),
        ),
        Rule(
            name="purchases of 1,000 or more: the project owner",
            when=Conditions(min_amount=Decimal(1000)),
            levels=(_PROJECT_OWNER,),
        ),
    ),
    # -- resource onboarding (issue #22): a new hire's bill rate out of the band goes to the practice lead, and to
    # the firm's group (the case's reviewers) when nobody answers --
    "resource_rate": (
        Rule(
            name="a bill rate out of band: the practice lead",
            levels=(_level("practice lead approval", "practice_lead", "reviewers"),),
        ),
    ),
}


class NoApprovalRoute(LookupError):
    """The workflow named a route the policy does not define."""


class NoEligibleApprovers(RuntimeError):
    """After separation of duties and delegation, fewer people remain than the quorum needs."""


@dataclass(frozen=True)
class Approver:
    email: str
    on_behalf_of: str | None = None  # set when a delegate stands in


@dataclass(frozen=True)
class RoutedLevel:
    index: int  # 0-based position in the rule's levels
    count: int  # how many levels the rule has
    level: Level
    rule: str
    approvers: tuple[Approver, ...]
    escalated: bool
    notes: tuple[str, ...] = field(default=())

    @property
    def quorum(self) -> int:
        return self.level.quorum


def select_rule(policy: ApprovalPolicy, route: str, facts: ApprovalFacts) -> Rule | None:
    """The first rule of the route whose conditions the facts meet, or None: no approval needed."""
    rules = policy.routes.get(route) or DEFAULT_ROUTES.get(route)
    if rules is None:
        raise NoApprovalRoute(f"the approval policy has no route {route!r}")
    return next((rule for rule in rules if rule.when.met_by(facts)), None)


def route_level(
    policy: ApprovalPolicy,
    rule: Rule,
    index: int,
    *,
    requested_by: str | None,
    decided_earlier: frozenset[str],
    today: date,
    escalated: bool = False,
    subject_groups: Mapping[str, Sequence[str]] | None = None,
) -> RoutedLevel:
    level = rule.levels[index]
    group = level.escalate_to if escalated and level.escalate_to else level.group
    requester = (requested_by or "").strip().lower()
    notes: list[str] = []
    approvers: list[Approver] = []
    if subject_group(group):
        members = tuple(
            str(m).strip().lower() for m in (subject_groups or {}).get(group.removeprefix(SUBJECT_GROUP), ())
        )
    else:
        members = policy.groups[group]
    for member in members:
        if member == requester:
            notes.append(f"{member} requested this and cannot approve it")
            continue
        if member in decided_earlier:
            notes.append(f"{member} decided an earlier level of this case")
            continue
        delegate = _delegate_of(policy, member, today)
        if delegate and delegate != requester and delegate not in decided_earlier:
            notes.append(f"{member} is away; {delegate} approves on their behalf")
            approvers.append(Approver(delegate, on_behalf_of=member))
        else:
            approvers.append(Approver(member))
    # One person standing in for two members still counts once.
    unique = list({a.email: a for a in approvers}.values())
    if len(unique) < level.quorum:
        raise NoEligibleApprovers(
            f"{level.name}: {len(unique)} eligible approver(s) in {group!r} for a quorum of {level.quorum}"
            + (f" ({'; '.join(notes)})" if notes else "")
        )
    return RoutedLevel(index, len(rule.levels), level, rule.name, tuple(unique), escalated, tuple(notes))


def _delegate_of(policy: ApprovalPolicy, approver: str, today: date) -> str | None:
    for d in policy.delegations:
        if d.approver.lower() == approver and d.start <= today <= d.end:
            return d.delegate.strip().lower()
    return None
