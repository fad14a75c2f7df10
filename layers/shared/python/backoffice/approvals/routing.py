"""Routing: which levels a subject needs and who may approve each level today.

Separation of duties is applied here and checked again when a decision arrives: the requester never approves their
own case, and nobody approves two levels of the same case. Delegation (out of office) replaces an approver with the
delegate for the dates given, and the decision records on whose behalf it was made.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from backoffice.approvals.policy import ApprovalFacts, ApprovalPolicy, Level, Rule


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
    if route not in policy.routes:
        raise NoApprovalRoute(f"the approval policy has no route {route!r}")
    return next((rule for rule in policy.routes[route] if rule.when.met_by(facts)), None)


def route_level(
    policy: ApprovalPolicy,
    rule: Rule,
    index: int,
    *,
    requested_by: str | None,
    decided_earlier: frozenset[str],
    today: date,
    escalated: bool = False,
) -> RoutedLevel:
    level = rule.levels[index]
    group = level.escalate_to if escalated and level.escalate_to else level.group
    requester = (requested_by or "").strip().lower()
    notes: list[str] = []
    approvers: list[Approver] = []
    for member in policy.groups[group]:
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
