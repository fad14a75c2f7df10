"""The local event router must pick the same rules EventBridge would: operator by operator, edge by edge."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

import pytest

from backoffice.events import InvalidEventPattern, matches, validate_pattern


def an_event(detail: dict[str, Any] | None = None, **envelope: Any) -> dict[str, Any]:
    """A full EventBridge envelope around ``detail``; keyword arguments override envelope fields."""
    event: dict[str, Any] = {
        "version": "0",
        "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
        "detail-type": "Case Closed",
        "source": "backoffice.workflows",
        "account": "111122223333",
        "time": "2024-10-02T18:43:48Z",
        "region": "eu-west-1",
        "resources": ["arn:aws:states:eu-west-1:111122223333:execution:onboarding:case-42"],
        "detail": detail if detail is not None else {},
    }
    event.update({key.replace("_", "-"): value for key, value in envelope.items()})
    return event


def on_detail(**conditions: Any) -> dict[str, Any]:
    return {"detail": conditions}


def case(pattern: dict[str, Any], event: dict[str, Any], expected: bool, id: str) -> Any:
    return pytest.param(pattern, event, expected, id=id)


MATCHING_CASES = [
    # Exact values: OR inside one array, AND across fields, JSON types never mixed.
    case({"source": ["backoffice.workflows"]}, an_event(), True, "exact/string"),
    case({"source": ["other", "backoffice.workflows"]}, an_event(), True, "exact/any-of-several"),
    case({"source": ["Backoffice.Workflows"]}, an_event(), False, "exact/case-sensitive"),
    case(
        {"source": ["backoffice.workflows"], "detail-type": ["Case Opened"]}, an_event(), False, "exact/and"
    ),
    case(on_detail(risk=[80]), an_event({"risk": 80}), True, "exact/number"),
    case(on_detail(risk=[80]), an_event({"risk": "80"}), False, "exact/number-is-not-string"),
    case(on_detail(risk=["80"]), an_event({"risk": 80}), False, "exact/string-is-not-number"),
    case(on_detail(risk=[300]), an_event({"risk": 300.0}), False, "exact/300-is-not-300.0"),
    case(on_detail(risk=[1.5]), an_event({"risk": 1.5}), True, "exact/float"),
    case(on_detail(flag=[True]), an_event({"flag": True}), True, "exact/true"),
    case(on_detail(flag=[False]), an_event({"flag": True}), False, "exact/false-is-not-true"),
    case(on_detail(flag=[1]), an_event({"flag": True}), False, "exact/1-is-not-true"),
    case(on_detail(flag=[True]), an_event({"flag": 1}), False, "exact/true-is-not-1"),
    case(on_detail(reply=[None]), an_event({"reply": None}), True, "exact/null"),
    case(on_detail(reply=[None]), an_event({"reply": ""}), False, "exact/null-is-not-empty-string"),
    case(on_detail(version=[""]), an_event({"version": ""}), True, "exact/empty-string"),
    case(on_detail(version=[""]), an_event({"version": None}), False, "exact/empty-string-is-not-null"),
    case(on_detail(state=["closed"]), an_event({}), False, "exact/absent-field"),
    # Arrays in the event: any element will do; nested arrays are flattened.
    case(on_detail(tags=["vip"]), an_event({"tags": ["new", "vip"]}), True, "array/any-element"),
    case(on_detail(tags=["vip", "gold"]), an_event({"tags": ["new", "bronze"]}), False, "array/no-element"),
    case(on_detail(tags=["vip"]), an_event({"tags": [["new"], ["vip"]]}), True, "array/nested-arrays"),
    case(on_detail(tags=["vip"]), an_event({"tags": []}), False, "array/empty"),
    case(
        {"resources": ["arn:aws:states:eu-west-1:111122223333:execution:onboarding:case-42"]},
        an_event(),
        True,
        "array/resources",
    ),
    # Nested objects at any depth, and arrays of objects (one element must satisfy the whole sub-pattern).
    case(on_detail(trigger={"risk": [8]}), an_event({"trigger": {"risk": 8}}), True, "nested/two-levels"),
    case(
        on_detail(a={"b": {"c": {"d": ["deep"]}}}),
        an_event({"a": {"b": {"c": {"d": "deep"}}}}),
        True,
        "nested/four-levels",
    ),
    case(on_detail(trigger={"risk": [8]}), an_event({"trigger": "8"}), False, "nested/scalar-is-not-object"),
    case(on_detail(trigger={"risk": [8]}), an_event({"risk": 8}), False, "nested/same-name-other-level"),
    case(
        on_detail(lines={"sku": ["B-2"]}),
        an_event({"lines": [{"sku": "A-1"}, {"sku": "B-2"}]}),
        True,
        "nested/array-of-objects",
    ),
    case(
        on_detail(lines={"sku": ["A-1"], "qty": [2]}),
        an_event({"lines": [{"sku": "A-1", "qty": 1}, {"sku": "B-2", "qty": 2}]}),
        False,
        "nested/array-fields-from-different-elements",
    ),
    case(
        on_detail(lines={"sku": ["B-2"], "qty": [2]}),
        an_event({"lines": [{"sku": "A-1", "qty": 1}, {"sku": "B-2", "qty": 2}]}),
        True,
        "nested/array-fields-from-same-element",
    ),
    # prefix, suffix and equals-ignore-case only ever match strings.
    case({"time": [{"prefix": "2024-10-02"}]}, an_event(), True, "prefix/matches"),
    case({"time": [{"prefix": "2024-10-03"}]}, an_event(), False, "prefix/does-not-match"),
    case(
        on_detail(code=[{"prefix": ""}]),
        an_event({"code": "anything"}),
        True,
        "prefix/empty-matches-any-string",
    ),
    case(on_detail(code=[{"prefix": "12"}]), an_event({"code": 123}), False, "prefix/never-a-number"),
    case(
        on_detail(service=[{"prefix": {"equals-ignore-case": "EventB"}}]),
        an_event({"service": "eventbridge"}),
        True,
        "prefix/ignore-case",
    ),
    case(
        on_detail(service=[{"prefix": {"equals-ignore-case": "EventB"}}]),
        an_event({"service": "lambda"}),
        False,
        "prefix/ignore-case-no-match",
    ),
    case(on_detail(file=[{"suffix": ".png"}]), an_event({"file": "scan.png"}), True, "suffix/matches"),
    case(
        on_detail(file=[{"suffix": ".png"}]), an_event({"file": "scan.PNG"}), False, "suffix/case-sensitive"
    ),
    case(
        on_detail(file=[{"suffix": {"equals-ignore-case": ".png"}}]),
        an_event({"file": "scan.PNG"}),
        True,
        "suffix/ignore-case",
    ),
    case(
        on_detail(file=[{"suffix": {"equals-ignore-case": ".png"}}]),
        an_event({"file": "scan.pdf"}),
        False,
        "suffix/ignore-case-no-match",
    ),
    case(
        on_detail(name=[{"equals-ignore-case": "alice"}]),
        an_event({"name": "ALICE"}),
        True,
        "ignore-case/match",
    ),
    case(
        on_detail(name=[{"equals-ignore-case": "alice"}]),
        an_event({"name": "alicia"}),
        False,
        "ignore-case/whole",
    ),
    case(
        on_detail(name=[{"equals-ignore-case": "1"}]),
        an_event({"name": 1}),
        False,
        "ignore-case/not-a-number",
    ),
    # anything-but: the field must be present; strings exclude strings, numbers exclude numbers (by value).
    case(
        on_detail(state=[{"anything-but": "open"}]),
        an_event({"state": "closed"}),
        True,
        "anything-but/string",
    ),
    case(
        on_detail(state=[{"anything-but": "open"}]),
        an_event({"state": "open"}),
        False,
        "anything-but/excluded",
    ),
    case(on_detail(state=[{"anything-but": "open"}]), an_event({}), False, "anything-but/absent-field"),
    case(
        on_detail(state=[{"anything-but": "open"}]),
        an_event({"state": None}),
        True,
        "anything-but/null-value",
    ),
    case(
        on_detail(state=[{"anything-but": ["stopped", "overloaded"]}]),
        an_event({"state": "overloaded"}),
        False,
        "anything-but/string-list",
    ),
    case(on_detail(limit=[{"anything-but": 123}]), an_event({"limit": 124}), True, "anything-but/number"),
    case(
        on_detail(limit=[{"anything-but": 123}]), an_event({"limit": 123.0}), False, "anything-but/by-value"
    ),
    case(
        on_detail(limit=[{"anything-but": [100, 200]}]),
        an_event({"limit": 200}),
        False,
        "anything-but/number-list",
    ),
    case(
        on_detail(limit=[{"anything-but": 123}]), an_event({"limit": "123"}), True, "anything-but/types-apart"
    ),
    case(on_detail(flag=[{"anything-but": 1}]), an_event({"flag": True}), True, "anything-but/true-is-not-1"),
    case(
        on_detail(tags=[{"anything-but": "vip"}]),
        an_event({"tags": ["vip", "new"]}),
        True,
        "anything-but/any-array-element",
    ),
    case(
        {"source": [{"anything-but": {"prefix": "aws."}}]},
        an_event(source="backoffice.workflows"),
        True,
        "anything-but/prefix",
    ),
    case(
        {"source": [{"anything-but": {"prefix": "aws."}}]},
        an_event(source="aws.s3"),
        False,
        "anything-but/prefix-excluded",
    ),
    case(
        on_detail(file=[{"anything-but": {"suffix": ".png"}}]),
        an_event({"file": "a.pdf"}),
        True,
        "anything-but/suffix",
    ),
    case(
        on_detail(file=[{"anything-but": {"suffix": ".png"}}]),
        an_event({"file": "a.png"}),
        False,
        "anything-but/suffix-excluded",
    ),
    case(
        on_detail(state=[{"anything-but": {"equals-ignore-case": "initializing"}}]),
        an_event({"state": "INITIALIZING"}),
        False,
        "anything-but/ignore-case-excluded",
    ),
    case(
        on_detail(state=[{"anything-but": {"equals-ignore-case": ["a", "b"]}}]),
        an_event({"state": "C"}),
        True,
        "anything-but/ignore-case-list",
    ),
    case(
        on_detail(path=[{"anything-but": {"wildcard": "*/lib/*"}}]),
        an_event({"path": "/usr/lib/x"}),
        False,
        "anything-but/wildcard-excluded",
    ),
    case(
        on_detail(path=[{"anything-but": {"wildcard": "*/lib/*"}}]),
        an_event({"path": "/usr/bin/x"}),
        True,
        "anything-but/wildcard",
    ),
    # numeric: JSON numbers only, one comparison or a range.
    case(
        on_detail(count=[{"numeric": [">", 0, "<=", 5]}]), an_event({"count": 5}), True, "numeric/range-top"
    ),
    case(
        on_detail(count=[{"numeric": [">", 0, "<=", 5]}]),
        an_event({"count": 0}),
        False,
        "numeric/range-bottom",
    ),
    case(
        on_detail(count=[{"numeric": [">=", 0, "<", 5]}]),
        an_event({"count": 0}),
        True,
        "numeric/closed-bottom",
    ),
    case(
        on_detail(count=[{"numeric": [">=", 0, "<", 5]}]), an_event({"count": 5}), False, "numeric/open-top"
    ),
    case(on_detail(count=[{"numeric": ["<", 10]}]), an_event({"count": 9.99}), True, "numeric/less-than"),
    case(on_detail(count=[{"numeric": ["<=", 10]}]), an_event({"count": 11}), False, "numeric/at-most"),
    case(on_detail(count=[{"numeric": [">", 10]}]), an_event({"count": 10}), False, "numeric/greater-than"),
    case(on_detail(limit=[{"numeric": ["=", 3.018e2]}]), an_event({"limit": 301.8}), True, "numeric/equals"),
    case(
        on_detail(limit=[{"numeric": ["=", 300]}]),
        an_event({"limit": 300.0}),
        True,
        "numeric/equals-by-value",
    ),
    case(on_detail(count=[{"numeric": [">", 0]}]), an_event({"count": "5"}), False, "numeric/string-never"),
    case(on_detail(count=[{"numeric": [">", 0]}]), an_event({"count": True}), False, "numeric/boolean-never"),
    case(
        on_detail(count=[{"numeric": [">", 0]}]), an_event({"count": [-1, 3]}), True, "numeric/array-element"
    ),
    # exists: only leaves exist; objects, empty objects and empty arrays hold no value.
    case(on_detail(reply=[{"exists": True}]), an_event({"reply": "ok"}), True, "exists/true-present"),
    case(on_detail(reply=[{"exists": True}]), an_event({"reply": None}), True, "exists/true-null-is-a-value"),
    case(on_detail(reply=[{"exists": True}]), an_event({}), False, "exists/true-absent"),
    case(on_detail(reply=[{"exists": False}]), an_event({}), True, "exists/false-absent"),
    case(on_detail(reply=[{"exists": False}]), an_event({"reply": "ok"}), False, "exists/false-present"),
    case(
        on_detail(reply=[{"exists": False}]), an_event({"reply": {"c1": 100}}), True, "exists/false-on-object"
    ),
    case(
        on_detail(reply=[{"exists": True}]), an_event({"reply": {"c1": 100}}), False, "exists/true-on-object"
    ),
    case(on_detail(reply=[{"exists": False}]), an_event({"reply": {}}), True, "exists/false-empty-object"),
    case(on_detail(tags=[{"exists": True}]), an_event({"tags": []}), False, "exists/true-empty-array"),
    case(on_detail(tags=[{"exists": False}]), an_event({"tags": []}), True, "exists/false-empty-array"),
    case(on_detail(tags=[{"exists": True}]), an_event({"tags": ["a"]}), True, "exists/true-array"),
    case(
        on_detail(trigger={"risk": [{"exists": False}]}),
        an_event({}),
        True,
        "exists/false-under-absent-parent",
    ),
    case(
        on_detail(lines={"sku": [{"exists": False}]}),
        an_event({"lines": []}),
        True,
        "exists/false-under-empty-array",
    ),
    case({"detail": [{"exists": True}]}, an_event({"a": 1}), False, "exists/true-on-detail-object"),
    case(
        on_detail(reply=["ok", {"exists": False}]),
        an_event({}),
        True,
        "exists/false-or-a-value",
    ),
    # cidr: IPv4 and IPv6 string addresses inside the block.
    case(on_detail(ip=[{"cidr": "10.0.0.0/24"}]), an_event({"ip": "10.0.0.255"}), True, "cidr/inside"),
    case(on_detail(ip=[{"cidr": "10.0.0.0/24"}]), an_event({"ip": "10.0.1.0"}), False, "cidr/outside"),
    case(
        on_detail(ip=[{"cidr": "10.0.0.0/24"}]), an_event({"ip": "not-an-ip"}), False, "cidr/not-an-address"
    ),
    case(on_detail(ip=[{"cidr": "10.0.0.0/24"}]), an_event({"ip": "::1"}), False, "cidr/other-family"),
    case(on_detail(ip=[{"cidr": "2001:db8::/32"}]), an_event({"ip": "2001:db8::7"}), True, "cidr/ipv6"),
    # wildcard: `*` is any run of characters, the whole value must match, `\*` is a literal star.
    case(
        on_detail(file=[{"wildcard": "dir/*.png"}]), an_event({"file": "dir/a/b.png"}), True, "wildcard/match"
    ),
    case(
        on_detail(file=[{"wildcard": "dir/*.png"}]), an_event({"file": "dir/a.pngx"}), False, "wildcard/whole"
    ),
    case(on_detail(file=[{"wildcard": "*"}]), an_event({"file": ""}), True, "wildcard/star-matches-empty"),
    case(on_detail(file=[{"wildcard": "a\\*b"}]), an_event({"file": "a*b"}), True, "wildcard/escaped-star"),
    case(
        on_detail(file=[{"wildcard": "a\\*b"}]),
        an_event({"file": "axb"}),
        False,
        "wildcard/escaped-is-literal",
    ),
    case(on_detail(file=[{"wildcard": "*"}]), an_event({"file": 5}), False, "wildcard/never-a-number"),
    # $or: at the top or at any depth, each branch a whole sub-pattern.
    case(
        {"$or": [{"source": ["aws.ec2"]}, {"source": ["aws.s3"]}]},
        an_event(source="my.app"),
        False,
        "or/no-branch",
    ),
    case(
        {"$or": [{"source": ["aws.ec2"]}, {"detail-type": ["Case Closed"]}]},
        an_event(),
        True,
        "or/second-branch",
    ),
    case(
        {"source": ["backoffice.workflows"], "$or": [on_detail(a=[1]), on_detail(b=[2])]},
        an_event({"b": 2}),
        True,
        "or/and-with-fields",
    ),
    case(
        on_detail(**{"$or": [{"c": [{"numeric": [">", 0]}]}, {"d": [{"numeric": ["<", 10]}]}]}),
        an_event({"c": -1, "d": 11}),
        False,
        "or/nested-none",
    ),
    case(
        on_detail(**{"$or": [{"c": [{"numeric": [">", 0]}]}, {"d": [{"numeric": ["<", 10]}]}]}),
        an_event({"c": -1, "d": 9}),
        True,
        "or/nested-one",
    ),
    case(
        {
            "$or": [
                on_detail(
                    kind=["invoice"], **{"$or": [{"amount": [{"numeric": [">", 1000]}]}, {"vip": [True]}]}
                ),
                on_detail(kind=["refund"]),
            ]
        },
        an_event({"kind": "invoice", "amount": 10, "vip": True}),
        True,
        "or/or-inside-or",
    ),
    # The documented complex example, end to end.
    case(
        {
            "time": [{"prefix": "2024-10-02"}],
            "detail": {
                "state": [{"anything-but": "initializing"}],
                "c-count": [{"numeric": [">", 0, "<=", 5]}],
                "d-count": [{"numeric": ["<", 10]}],
                "x-limit": [{"anything-but": [100, 200, 300]}],
                "source-ip": [{"cidr": "10.0.0.0/8"}],
            },
        },
        an_event(
            {"state": "running", "c-count": 5, "d-count": 3, "x-limit": 301.8, "source-ip": "10.0.0.33"}
        ),
        True,
        "complex/documented-example",
    ),
]


@pytest.mark.parametrize(("pattern", "event", "expected"), MATCHING_CASES)
def test_an_event_matches_a_pattern_exactly_when_eventbridge_would_deliver_it(
    pattern: dict[str, Any], event: dict[str, Any], expected: bool
) -> None:
    # Given a pattern EventBridge accepts
    validate_pattern(pattern)

    # When an event is routed against it
    verdict = matches(pattern, event)

    # Then the verdict is EventBridge's
    assert verdict is expected


INVALID_PATTERNS = [
    pytest.param({}, "pattern: empty objects are not allowed", id="empty-pattern"),
    pytest.param({"detail": {}}, "detail: empty objects are not allowed", id="empty-nested-object"),
    pytest.param({"source": []}, "source: empty arrays are not allowed", id="empty-array"),
    pytest.param({"source": "aws.ec2"}, "source: must be an object or an array", id="leaf-not-a-list"),
    pytest.param(
        {"detail": {"n": 5}}, "detail.n: must be an object or an array", id="nested-leaf-not-a-list"
    ),
    pytest.param({"source": [["aws.ec2"]]}, "source[0]: a match value is", id="nested-list-value"),
    pytest.param(
        {"source": [{}]}, "source[0]: an operator object takes exactly one key", id="empty-operator"
    ),
    pytest.param(
        {"source": [{"prefix": "a", "suffix": "b"}]}, "exactly one key", id="two-operators-in-one-object"
    ),
    pytest.param(
        {"source": [{"contains": "x"}]}, "source[0]: unknown operator 'contains'", id="unknown-operator"
    ),
    pytest.param({"source": [{"prefix": 5}]}, "source[0].prefix: must be a string", id="prefix-not-string"),
    pytest.param(
        {"source": [{"prefix": {"equals-ignore-case": 5}}]},
        "source[0].prefix.equals-ignore-case: must be a string",
        id="prefix-ignore-case-not-string",
    ),
    pytest.param(
        {"source": [{"suffix": {"wildcard": "x"}}]}, "source[0].suffix: must be", id="suffix-bad-form"
    ),
    pytest.param(
        {"a": [{"equals-ignore-case": ["x"]}]}, "a[0].equals-ignore-case: must be a string", id="eic-list"
    ),
    pytest.param({"a": [{"anything-but": []}]}, "a[0].anything-but: empty arrays", id="anything-but-empty"),
    pytest.param(
        {"a": [{"anything-but": ["x", 1]}]}, "only strings or only numbers", id="anything-but-mixed"
    ),
    pytest.param(
        {"a": [{"anything-but": None}]}, "a[0].anything-but: takes a string", id="anything-but-null"
    ),
    pytest.param(
        {"a": [{"anything-but": True}]}, "a[0].anything-but: takes a string", id="anything-but-bool"
    ),
    pytest.param(
        {"a": [{"anything-but": {"prefix": ""}}]},
        "anything-but.prefix: must be a non-empty",
        id="ab-empty-prefix",
    ),
    pytest.param(
        {"a": [{"anything-but": {"numeric": [">", 1]}}]},
        "unsupported operator 'numeric'",
        id="ab-unsupported",
    ),
    pytest.param({"a": [{"numeric": 5}]}, "a[0].numeric: must be", id="numeric-not-list"),
    pytest.param({"a": [{"numeric": []}]}, "a[0].numeric: must be", id="numeric-empty"),
    pytest.param({"a": [{"numeric": [">", 1, "<"]}]}, "a[0].numeric: must be", id="numeric-odd-length"),
    pytest.param({"a": [{"numeric": ["!=", 1]}]}, "unknown comparison '!='", id="numeric-unknown-comparison"),
    pytest.param(
        {"a": [{"numeric": [">", "1"]}]}, "a[0].numeric >: must be a finite number", id="numeric-string"
    ),
    pytest.param({"a": [{"numeric": [">", True]}]}, "must be a finite number", id="numeric-boolean"),
    pytest.param({"a": [{"numeric": ["<", 5, ">", 1]}]}, "a range is", id="numeric-range-upside-down"),
    pytest.param({"a": [{"numeric": ["=", 1, "<", 5]}]}, "a range is", id="numeric-equals-in-range"),
    pytest.param({"a": [{"numeric": [">", 5, "<", 1]}]}, "must be less than", id="numeric-empty-range"),
    pytest.param({"a": [{"numeric": [">", 1, "<", 5, "<", 6]}]}, "a[0].numeric: must be", id="numeric-three"),
    pytest.param({"a": [{"exists": "true"}]}, "a[0].exists: must be true or false", id="exists-not-boolean"),
    pytest.param({"a": [{"cidr": "10.0.0.1"}]}, "a[0].cidr: not a CIDR block", id="cidr-without-mask"),
    pytest.param({"a": [{"cidr": "10.0.0.0/33"}]}, "a[0].cidr: not a CIDR block", id="cidr-bad-mask"),
    pytest.param({"a": [{"wildcard": "a**b"}]}, "consecutive wildcard characters", id="wildcard-consecutive"),
    pytest.param({"a": [{"wildcard": "a\\b"}]}, "a backslash may only escape", id="wildcard-bad-escape"),
    pytest.param(
        {"$or": [{"a": [1]}]}, "$or: must be an array of at least two objects", id="or-single-branch"
    ),
    pytest.param({"$or": {"a": [1]}}, "$or: must be an array", id="or-not-a-list"),
    pytest.param({"$or": [{"a": [1]}, "b"]}, "$or[1]: must be an object", id="or-branch-not-object"),
    pytest.param({"$or": [{"a": [1]}, {}]}, "$or[1]: empty objects are not allowed", id="or-empty-branch"),
    pytest.param(
        {"detail": {"$or": [{"a": [1]}, {"b": []}]}}, "detail.$or[1].b: empty arrays", id="or-deep-error"
    ),
]


@pytest.mark.parametrize(("pattern", "message"), INVALID_PATTERNS)
def test_a_malformed_pattern_is_refused_with_a_message_naming_the_bad_part(
    pattern: dict[str, Any], message: str
) -> None:
    # Given a pattern EventBridge would refuse at PutRule

    # When it is validated, or used to match an event
    # Then both refuse it and the message points at the offending part
    with pytest.raises(InvalidEventPattern) as refused:
        validate_pattern(pattern)
    assert message in str(refused.value)
    with pytest.raises(InvalidEventPattern):
        matches(pattern, an_event())


def test_an_invalid_pattern_is_a_value_error() -> None:
    # Given code that guards configuration with `except ValueError`
    # When a bad pattern is validated
    # Then the error is caught as a ValueError
    with pytest.raises(ValueError, match="source: empty arrays are not allowed"):
        validate_pattern({"source": []})


def test_a_string_enum_value_matches_like_the_string_it_serialises_to() -> None:
    # Given an event built in Python whose detail carries a StrEnum member, not a plain str
    class Outcome(StrEnum):
        APPROVED = "approved"

    event = an_event({"outcome": Outcome.APPROVED})

    # When it is matched against a pattern written with the JSON string
    verdict = matches(on_detail(outcome=["approved"]), event)

    # Then it matches, as it would once sent through PutEvents as JSON
    assert verdict is True
