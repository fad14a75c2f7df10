"""IAM identity-policy evaluation, as AWS documents it, for the statements this project's template holds.

Why not moto's: moto evaluates IAM only for requests signed with its own users' keys, passes ``"*"`` as the
resource of every service but S3 and SQS (so a statement scoped to a table ARN never matches a DynamoDB call),
matches actions case-sensitively, has no ``?`` wildcard, and evaluates no condition operator but a trust policy's.
The evaluation logic here follows "Policy evaluation logic" and "IAM JSON policy elements" of the IAM User Guide:

- an explicit ``Deny`` in any statement wins; otherwise an ``Allow`` that matches allows; otherwise the request
  is implicitly denied;
- ``Action``/``NotAction`` match case-insensitively, ``Resource``/``NotResource`` case-sensitively, both with the
  ``*`` (any run of characters, ``:`` and ``/`` included) and ``?`` (one character) wildcards;
- a statement's ``Condition`` holds when every operator holds; an operator holds when every key holds; a key holds
  when any of the policy's values matches the request's value. A key the request lacks fails every operator but
  the negated ones and those ending in ``IfExists``.

Only identity-based policies are evaluated (the local runtime runs in one account, where a key policy that
delegates to IAM adds nothing); resource policies are checked by the template tests.
"""

from __future__ import annotations

import fnmatch
import functools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

Statement = Mapping[str, Any]


class Decision(Enum):
    ALLOWED = "allowed"
    EXPLICIT_DENY = "explicitly denied"
    IMPLICIT_DENY = "not allowed"


@dataclass(frozen=True)
class Request:
    """One authorization IAM makes: an action on a resource, with the condition keys the request carries."""

    action: str
    resource: str
    context: Mapping[str, str | Sequence[str]] = field(default_factory=dict)


@functools.lru_cache(maxsize=4096)
def _wildcard(pattern: str, *, ignore_case: bool) -> re.Pattern[str]:
    # fnmatch's translation turns * into .* and ? into . ; IAM has no [..] classes, so those are escaped first.
    escaped = pattern.replace("[", "[[]")
    return re.compile(fnmatch.translate(escaped), re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL)


def wildcard_match(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    return _wildcard(pattern, ignore_case=ignore_case).match(value) is not None


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, (list, tuple)) else [str(value)]


def _matches_any(patterns: Iterable[str], value: str, *, ignore_case: bool) -> bool:
    return any(wildcard_match(pattern, value, ignore_case=ignore_case) for pattern in patterns)


def _action_matches(statement: Statement, action: str) -> bool:
    if "Action" in statement:
        return _matches_any(_as_list(statement["Action"]), action, ignore_case=True)
    if "NotAction" in statement:
        return not _matches_any(_as_list(statement["NotAction"]), action, ignore_case=True)
    return False


def _resource_matches(statement: Statement, resource: str) -> bool:
    if "Resource" in statement:
        return _matches_any(_as_list(statement["Resource"]), resource, ignore_case=False)
    if "NotResource" in statement:
        return not _matches_any(_as_list(statement["NotResource"]), resource, ignore_case=False)
    return False


def _string_equals(expected: str, actual: str) -> bool:
    return expected == actual


def _string_equals_ignore_case(expected: str, actual: str) -> bool:
    return expected.lower() == actual.lower()


def _string_like(expected: str, actual: str) -> bool:
    return wildcard_match(expected, actual)


def _bool(expected: str, actual: str) -> bool:
    return expected.lower() == actual.lower()


def _numeric(compare: Any) -> Any:
    def check(expected: str, actual: str) -> bool:
        try:
            return bool(compare(float(actual), float(expected)))
        except ValueError:
            return False

    return check


# The operators this project's policies use, and their negations (IAM: "Condition operators").
_OPERATORS: dict[str, tuple[Any, bool]] = {
    "StringEquals": (_string_equals, False),
    "StringNotEquals": (_string_equals, True),
    "StringEqualsIgnoreCase": (_string_equals_ignore_case, False),
    "StringNotEqualsIgnoreCase": (_string_equals_ignore_case, True),
    "StringLike": (_string_like, False),
    "StringNotLike": (_string_like, True),
    "ArnEquals": (_string_like, False),
    "ArnLike": (_string_like, False),
    "ArnNotEquals": (_string_like, True),
    "ArnNotLike": (_string_like, True),
    "Bool": (_bool, False),
    "NumericEquals": (_numeric(lambda a, e: a == e), False),
    "NumericLessThan": (_numeric(lambda a, e: a < e), False),
    "NumericLessThanEquals": (_numeric(lambda a, e: a <= e), False),
    "NumericGreaterThan": (_numeric(lambda a, e: a > e), False),
    "NumericGreaterThanEquals": (_numeric(lambda a, e: a >= e), False),
}


class UnsupportedCondition(ValueError):
    """A policy uses a condition operator this evaluator does not know: refused, never guessed."""


def _condition_holds(operator: str, keys: Mapping[str, Any], context: Mapping[str, Any]) -> bool:
    name, if_exists = (
        (operator[: -len("IfExists")], True) if operator.endswith("IfExists") else (operator, False)
    )
    qualifier = None
    if ":" in name:
        qualifier, name = name.split(":", 1)
    if name == "Null":
        return all(
            (key.lower() not in _lower_keys(context)) == (str(value).lower() == "true")
            for key, value in keys.items()
        )
    if name not in _OPERATORS:
        raise UnsupportedCondition(
            f"condition operator {operator!r} is not supported by the local IAM evaluator"
        )
    compare, negated = _OPERATORS[name]
    lowered = _lower_keys(context)
    for key, expected_values in keys.items():
        expected = _as_list(expected_values)
        if key.lower() not in lowered:
            if if_exists or negated:
                continue
            return False
        actual = _as_list(lowered[key.lower()])
        if qualifier == "ForAllValues":
            held = all(any(compare(e, a) for e in expected) for a in actual)
        else:  # a single-valued key, or ForAnyValue
            held = any(compare(e, a) for e in expected for a in actual)
        if held == negated:
            return False
    return True


def _lower_keys(context: Mapping[str, Any]) -> dict[str, Any]:
    # Condition key names are case-insensitive; their values are not.
    return {key.lower(): value for key, value in context.items()}


def _conditions_hold(statement: Statement, context: Mapping[str, Any]) -> bool:
    conditions: Mapping[str, Mapping[str, Any]] = statement.get("Condition") or {}
    return all(_condition_holds(operator, keys, context) for operator, keys in conditions.items())


def statement_applies(statement: Statement, request: Request) -> bool:
    return (
        _action_matches(statement, request.action)
        and _resource_matches(statement, request.resource)
        and _conditions_hold(statement, dict(request.context or {}))
    )


def evaluate(statements: Iterable[Statement], request: Request) -> Decision:
    """The decision of identity-based statements on one request."""
    allowed = False
    for statement in statements:
        if not statement_applies(statement, request):
            continue
        if statement.get("Effect") == "Deny":
            return Decision.EXPLICIT_DENY
        if statement.get("Effect") == "Allow":
            allowed = True
    return Decision.ALLOWED if allowed else Decision.IMPLICIT_DENY


__all__ = [
    "Decision",
    "Request",
    "Statement",
    "UnsupportedCondition",
    "evaluate",
    "statement_applies",
    "wildcard_match",
]
