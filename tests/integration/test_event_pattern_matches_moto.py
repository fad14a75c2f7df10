"""Our event-pattern matcher against moto's, the matcher the rest of the local-runtime tests lean on.

moto 5.2.5 answers TestEventPattern with a constant in its responses layer, so its own matcher class,
``moto.events.models.EventPattern``, is the reference here. Where moto departs from the EventBridge user guide
the case is kept out of the comparison, listed in KNOWN_MOTO_DIVERGENCES with the AWS behaviour it breaks, and
pinned to AWS's verdict in tests/unit/test_event_pattern.py.
"""

from __future__ import annotations

import json
import random
from typing import Any, cast

import pytest
from moto.events.exceptions import InvalidEventPatternException
from moto.events.models import EventPattern

from backoffice.events import InvalidEventPattern, matches, validate_pattern


def moto_matches(pattern: dict[str, Any], event: dict[str, Any]) -> bool:
    # moto types the event as its own TypedDict; a plain JSON dict is what it actually reads.
    return bool(EventPattern.load(json.dumps(pattern)).matches_event(cast(Any, event)))


def an_event(detail: dict[str, Any], source: str = "backoffice.workflows") -> dict[str, Any]:
    return {
        "version": "0",
        "id": "3e3c153a-8339-4e30-8c35-687ebef853fe",
        "detail-type": "Case Closed",
        "source": source,
        "account": "111122223333",
        "time": "2024-10-02T18:43:48Z",
        "region": "eu-west-1",
        "resources": ["arn:aws:states:eu-west-1:111122223333:execution:onboarding:case-42"],
        "detail": detail,
    }


def on_detail(**conditions: Any) -> dict[str, Any]:
    return {"detail": conditions}


SHARED_CASES = [
    pytest.param({"source": ["backoffice.workflows"]}, an_event({}), True, id="exact"),
    pytest.param({"source": ["aws.s3", "aws.ec2"]}, an_event({}), False, id="exact-none-of"),
    pytest.param(
        {"source": ["backoffice.workflows"], "detail-type": ["Case Opened"]}, an_event({}), False, id="and"
    ),
    pytest.param(on_detail(risk=[80]), an_event({"risk": 80}), True, id="number"),
    pytest.param(on_detail(risk=["80"]), an_event({"risk": 80}), False, id="string-is-not-number"),
    pytest.param(on_detail(reply=[None]), an_event({"reply": None}), True, id="null"),
    pytest.param(on_detail(version=[""]), an_event({"version": ""}), True, id="empty-string"),
    pytest.param(on_detail(version=[""]), an_event({"version": None}), False, id="empty-string-is-not-null"),
    pytest.param(on_detail(flag=[False]), an_event({"flag": False}), True, id="false"),
    pytest.param(on_detail(tags=["vip"]), an_event({"tags": ["new", "vip"]}), True, id="array-any-element"),
    pytest.param(on_detail(tags=["vip"]), an_event({"tags": ["new"]}), False, id="array-no-element"),
    pytest.param(on_detail(trigger={"risk": [8]}), an_event({"trigger": {"risk": 8}}), True, id="nested"),
    pytest.param(
        on_detail(a={"b": {"c": ["deep"]}}), an_event({"a": {"b": {"c": "deep"}}}), True, id="nested-deep"
    ),
    pytest.param(on_detail(trigger={"risk": [8]}), an_event({"trigger": "8"}), False, id="nested-on-scalar"),
    pytest.param({"time": [{"prefix": "2024-10"}]}, an_event({}), True, id="prefix"),
    pytest.param(on_detail(code=[{"prefix": "12"}]), an_event({"code": 123}), False, id="prefix-on-number"),
    pytest.param(
        on_detail(service=[{"prefix": {"equals-ignore-case": "EventB"}}]),
        an_event({"service": "eventbridge"}),
        True,
        id="prefix-ignore-case",
    ),
    pytest.param(on_detail(file=[{"suffix": ".png"}]), an_event({"file": "a.PNG"}), False, id="suffix"),
    pytest.param(
        on_detail(file=[{"suffix": {"equals-ignore-case": ".png"}}]),
        an_event({"file": "a.PNG"}),
        True,
        id="suffix-ignore-case",
    ),
    pytest.param(
        on_detail(name=[{"equals-ignore-case": "alice"}]), an_event({"name": "ALICE"}), True, id="ignore-case"
    ),
    pytest.param(
        on_detail(state=[{"anything-but": "open"}]), an_event({"state": "done"}), True, id="ab-string"
    ),
    pytest.param(on_detail(state=[{"anything-but": "open"}]), an_event({}), False, id="ab-absent"),
    pytest.param(
        on_detail(state=[{"anything-but": "open"}]), an_event({"state": None}), True, id="ab-on-null"
    ),
    pytest.param(
        on_detail(limit=[{"anything-but": [100, 200]}]), an_event({"limit": 200}), False, id="ab-number-list"
    ),
    pytest.param(
        on_detail(limit=[{"anything-but": 123}]), an_event({"limit": 123.0}), False, id="ab-by-value"
    ),
    pytest.param(
        {"source": [{"anything-but": {"prefix": "aws."}}]},
        an_event({}, source="aws.s3"),
        False,
        id="ab-prefix",
    ),
    pytest.param(
        on_detail(file=[{"anything-but": {"suffix": ".png"}}]),
        an_event({"file": "a.pdf"}),
        True,
        id="ab-suffix",
    ),
    pytest.param(
        on_detail(state=[{"anything-but": {"equals-ignore-case": "initializing"}}]),
        an_event({"state": "INITIALIZING"}),
        False,
        id="ab-ignore-case",
    ),
    pytest.param(
        on_detail(n=[{"numeric": [">", 0, "<=", 5]}]), an_event({"n": 5}), True, id="numeric-range-inclusive"
    ),
    pytest.param(
        on_detail(n=[{"numeric": [">", 0, "<=", 5]}]), an_event({"n": 0}), False, id="numeric-exclusive"
    ),
    pytest.param(on_detail(n=[{"numeric": ["=", 300]}]), an_event({"n": 300.0}), True, id="numeric-equals"),
    pytest.param(on_detail(n=[{"numeric": [">", 0]}]), an_event({"n": "5"}), False, id="numeric-on-string"),
    pytest.param(on_detail(n=[{"exists": True}]), an_event({"n": None}), True, id="exists-null"),
    pytest.param(on_detail(n=[{"exists": False}]), an_event({}), True, id="exists-false-absent"),
    pytest.param(
        on_detail(n=[{"exists": False}]), an_event({"n": {"c1": 100}}), True, id="exists-false-object"
    ),
    pytest.param(
        on_detail(n=[{"exists": True}]), an_event({"n": {"c1": 100}}), False, id="exists-true-object"
    ),
    pytest.param(on_detail(ip=[{"cidr": "10.0.0.0/24"}]), an_event({"ip": "10.0.0.9"}), True, id="cidr"),
    pytest.param(
        on_detail(ip=[{"cidr": "10.0.0.0/24"}]), an_event({"ip": "10.0.1.9"}), False, id="cidr-outside"
    ),
    pytest.param(
        on_detail(ip=[{"cidr": "2001:db8::/32"}]), an_event({"ip": "2001:db8::1"}), True, id="cidr-v6"
    ),
    pytest.param(
        on_detail(f=[{"wildcard": "dir/*.png"}]), an_event({"f": "dir/a/b.png"}), True, id="wildcard"
    ),
    pytest.param(on_detail(f=[{"wildcard": "a\\*b"}]), an_event({"f": "axb"}), False, id="wildcard-escaped"),
    pytest.param(
        {"$or": [{"source": ["aws.ec2"]}, {"source": ["aws.s3"]}]},
        an_event({}, source="my.app"),
        False,
        id="or",
    ),
    pytest.param(
        on_detail(**{"$or": [{"c": [{"numeric": [">", 0]}]}, {"d": [{"numeric": ["<", 10]}]}]}),
        an_event({"c": -1, "d": 9}),
        True,
        id="or-nested",
    ),
]


@pytest.mark.parametrize(("pattern", "event", "aws_verdict"), SHARED_CASES)
def test_our_matcher_and_moto_agree_on_the_shared_cases(
    pattern: dict[str, Any], event: dict[str, Any], aws_verdict: bool
) -> None:
    # Given a case both matchers implement per the EventBridge user guide

    # When each judges whether the event matches
    ours, theirs = matches(pattern, event), moto_matches(pattern, event)

    # Then they agree, and on the verdict AWS documents
    assert (ours, theirs) == (aws_verdict, aws_verdict)


KNOWN_MOTO_DIVERGENCES = [
    # "For numbers, EventBridge uses string representation. For example, 300, 300.0, and 3.0e2 are not
    # considered equal." (Creating event patterns); moto compares with Python ==.
    pytest.param(on_detail(n=[300]), an_event({"n": 300.0}), False, id="300-is-not-300.0"),
    # Values "follow JSON rules": true is a keyword, not the number 1; moto's == makes True == 1.
    pytest.param(on_detail(n=[1]), an_event({"n": True}), False, id="1-is-not-true"),
    pytest.param(
        on_detail(n=[{"anything-but": 1}]), an_event({"n": True}), True, id="anything-but-1-keeps-true"
    ),
    # "Numeric matching only works with values that are JSON numbers"; moto treats a boolean as an int.
    pytest.param(on_detail(n=[{"numeric": [">", 0]}]), an_event({"n": True}), False, id="numeric-on-true"),
    # "Exists matching only works on leaf nodes": an empty object or array holds no leaf, so the field does
    # not exist (event-ruler emits no field for either); moto keeps them as values.
    pytest.param(on_detail(n=[{"exists": False}]), an_event({"n": {}}), True, id="empty-object-has-no-leaf"),
    pytest.param(on_detail(n=[{"exists": True}]), an_event({"n": []}), False, id="empty-array-has-no-leaf"),
    # Arrays of objects match through their elements (event-ruler README, "JSON Array Matching", and the
    # guide's array page); moto never descends into a list.
    pytest.param(
        on_detail(lines={"sku": ["B-2"]}),
        an_event({"lines": [{"sku": "A-1"}, {"sku": "B-2"}]}),
        True,
        id="array-of-objects",
    ),
    # Multi-level arrays are flattened the same way; moto tests membership of the outer list only.
    pytest.param(on_detail(n=[3]), an_event({"n": [[1, 2], [3]]}), True, id="nested-arrays"),
]


@pytest.mark.parametrize(("pattern", "event", "aws_verdict"), KNOWN_MOTO_DIVERGENCES)
def test_moto_is_not_the_reference_where_it_departs_from_aws(
    pattern: dict[str, Any], event: dict[str, Any], aws_verdict: bool
) -> None:
    # Given a case where moto 5.2.5 departs from documented EventBridge behaviour

    # When both matchers judge it
    ours, theirs = matches(pattern, event), moto_matches(pattern, event)

    # Then ours gives AWS's verdict; should moto start agreeing, move the case to SHARED_CASES
    assert ours is aws_verdict
    assert theirs is not aws_verdict


# --- property-style comparison over the operators moto implements as AWS does -------------------------------

WORDS = ["alpha", "Alpha", "alphabet", "beta", "scan.png", "SCAN.PNG", "scan.pdf", "dir/a/b.png", ""]
ADDRESSES = [
    "10.0.0.7",
    "10.0.0.255",
    "10.0.1.9",
    "10.1.2.3",
    "192.168.4.20",
    "192.169.0.1",
    "2001:db8::7",
    "::1",
]
NUMBERS = [-3, 0, 1, 5, 10, 42, 300]
# Each field mostly holds one kind of value, so operators meet values they can match; sometimes another kind.
VALUES_BY_FIELD: dict[str, list[Any]] = {
    "state": WORDS,
    "kind": [*WORDS, *NUMBERS],
    "count": NUMBERS,
    "ip": ADDRESSES,
    "file": WORDS,
    "owner": WORDS,
    "level": NUMBERS,
}
FIELDS = ["state", "kind", "count", "ip", "file"]
META_FIELDS = ["owner", "level"]


def random_scalar(rng: random.Random, field: str) -> Any:
    pool = VALUES_BY_FIELD[field] if rng.random() < 0.85 else [*WORDS, *ADDRESSES, *NUMBERS]
    return rng.choice(pool)


def random_value(rng: random.Random, field: str) -> Any:
    # Non-empty arrays of scalars only: moto departs from AWS on empty or nested arrays and arrays of objects.
    if rng.random() < 0.3:
        return [random_scalar(rng, field) for _ in range(rng.randint(1, 3))]
    return random_scalar(rng, field)


def random_detail(rng: random.Random) -> dict[str, Any]:
    detail = {field: random_value(rng, field) for field in FIELDS if rng.random() < 0.8}
    roll = rng.random()
    if roll < 0.5:
        detail["meta"] = {field: random_value(rng, field) for field in META_FIELDS}
    elif roll < 0.6:
        detail["meta"] = random_scalar(rng, "owner")
    return detail


def random_match_value(rng: random.Random, field: str) -> Any:
    low, high = sorted(rng.sample(NUMBERS, 2))
    for_strings: list[Any] = [
        rng.choice(WORDS),
        {"prefix": rng.choice(["al", "Al", "scan", ""])},
        {"prefix": {"equals-ignore-case": rng.choice(["AL", "sc"])}},
        {"suffix": rng.choice([".png", ".PNG", "bet"])},
        {"suffix": {"equals-ignore-case": ".png"}},
        {"equals-ignore-case": rng.choice(["ALPHA", "scan.png"])},
        {"anything-but": rng.choice(WORDS)},
        {"anything-but": rng.sample(WORDS, 2)},
        {"anything-but": {"prefix": "al"}},
        {"anything-but": {"suffix": ".png"}},
        {"anything-but": {"equals-ignore-case": "alpha"}},
        {"wildcard": rng.choice(["*.png", "al*a", "*", "dir/*/b.png", "*a*", "scan.p*"])},
    ]
    for_numbers: list[Any] = [
        rng.choice(NUMBERS),
        {"anything-but": rng.choice(NUMBERS)},
        {"anything-but": rng.sample(NUMBERS, 2)},
        {"numeric": [rng.choice(["=", "<", "<=", ">", ">="]), rng.choice([*NUMBERS, 4.5])]},
        {"numeric": [rng.choice([">", ">="]), low, rng.choice(["<", "<="]), high]},
    ]
    for_addresses: list[Any] = [
        rng.choice(ADDRESSES),
        {"prefix": "10.0."},
        {"wildcard": "10.0.*"},
        {"anything-but": {"prefix": "10."}},
        {"cidr": rng.choice(["10.0.0.0/24", "10.0.0.0/8", "192.168.0.0/16", "2001:db8::/32"])},
    ]
    for_any_field: list[Any] = [{"exists": rng.choice([True, False])}]
    pool = {"count": for_numbers, "level": for_numbers, "ip": for_addresses}.get(field, for_strings)
    if rng.random() < 0.2:
        pool = for_strings + for_numbers + for_addresses  # operators meeting values of another type
    return rng.choice(pool + for_any_field)


def random_conditions(rng: random.Random, fields: list[str]) -> dict[str, Any]:
    chosen = rng.sample(fields, 1 if rng.random() < 0.7 else 2)
    return {
        field: [random_match_value(rng, field) for _ in range(1 if rng.random() < 0.75 else 2)]
        for field in chosen
    }


def random_pattern(rng: random.Random) -> dict[str, Any]:
    detail = random_conditions(rng, FIELDS)
    roll = rng.random()
    if roll < 0.2:
        detail["meta"] = random_conditions(rng, META_FIELDS)
    elif roll < 0.3:
        detail["meta"] = [{"exists": rng.choice([True, False])}]
    if rng.random() < 0.15:
        detail["$or"] = [random_conditions(rng, FIELDS), random_conditions(rng, FIELDS)]
    pattern: dict[str, Any] = {"detail": detail}
    if rng.random() < 0.2:
        pattern["source"] = [rng.choice(["backoffice.workflows", "aws.s3", {"prefix": "backoffice."}])]
    if rng.random() < 0.1:
        pattern = {"$or": [pattern, {"detail-type": [rng.choice(["Case Closed", "Case Opened"])]}]}
    return pattern


def test_our_matcher_and_moto_agree_on_hundreds_of_random_cases() -> None:
    # Given a few hundred random patterns and events, reproducible from a fixed seed, over the operators moto
    # implements as AWS documents them: no booleans, no floats in events, no empty or nested arrays, no arrays
    # of objects
    rng = random.Random(20241002)
    cases = [
        (
            random_pattern(rng),
            an_event(random_detail(rng), source=rng.choice(["backoffice.workflows", "aws.s3"])),
        )
        for _ in range(500)
    ]

    # When both matchers judge every case
    verdicts = [(matches(pattern, event), moto_matches(pattern, event)) for pattern, event in cases]

    # Then they never disagree, and the sample exercises both verdicts
    disagreements = [
        (pattern, event, ours)
        for (pattern, event), (ours, theirs) in zip(cases, verdicts, strict=True)
        if ours != theirs
    ]
    assert disagreements == []
    matched = sum(ours for ours, _ in verdicts)
    assert 50 <= matched <= 450, f"{matched} of 500 random cases matched: the generator drifted"


@pytest.mark.parametrize(
    "pattern",
    [
        pytest.param({"source": []}, id="empty-array"),
        pytest.param({"source": "aws.ec2"}, id="leaf-not-an-array"),
        pytest.param({"detail": {"state": 5}}, id="nested-leaf-not-an-array"),
    ],
)
def test_both_refuse_the_malformed_patterns_moto_validates(pattern: dict[str, Any]) -> None:
    # Given a pattern EventBridge refuses at PutRule, of a kind moto also checks

    # When each side validates it
    # Then each refuses it
    with pytest.raises(InvalidEventPattern):
        validate_pattern(pattern)
    with pytest.raises(InvalidEventPatternException):
        EventPattern.load(json.dumps(pattern))
