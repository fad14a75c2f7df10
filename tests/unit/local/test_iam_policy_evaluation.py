"""The local IAM evaluator against the IAM User Guide's policy evaluation rules (examples from "Policy evaluation
logic", "IAM JSON policy elements: Action, NotAction, Resource, Condition" and "Condition operators")."""

from __future__ import annotations

import pytest

from backoffice.local.iam_policy import Decision, Request, UnsupportedCondition, evaluate, wildcard_match

TABLE = "arn:aws:dynamodb:us-east-1:123456789012:table/backoffice-audit"
KEY = "arn:aws:kms:us-east-1:123456789012:key/backoffice-data-key"


def allow(action: object, resource: object, **extra: object) -> dict[str, object]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def test_nothing_is_allowed_without_a_statement_that_allows_it() -> None:
    # Given no statement for PutItem
    statements = [allow("dynamodb:GetItem", TABLE)]
    # When PutItem is asked for, Then it is implicitly denied
    assert evaluate(statements, Request("dynamodb:PutItem", TABLE)) is Decision.IMPLICIT_DENY
    assert evaluate([], Request("dynamodb:GetItem", TABLE)) is Decision.IMPLICIT_DENY


def test_an_explicit_deny_wins_over_any_allow() -> None:
    # Given an allow of everything and a deny of one action
    statements = [allow("*", "*"), {"Effect": "Deny", "Action": "dynamodb:DeleteItem", "Resource": TABLE}]
    # Then that action is denied and the others allowed
    assert evaluate(statements, Request("dynamodb:DeleteItem", TABLE)) is Decision.EXPLICIT_DENY
    assert evaluate(statements, Request("dynamodb:PutItem", TABLE)) is Decision.ALLOWED


def test_actions_match_case_insensitively_with_wildcards() -> None:
    # Given actions written with wildcards and in another case
    statements = [allow(["DynamoDB:get*", "s3:Get?bject"], "*")]
    # Then they match as IAM matches them
    assert evaluate(statements, Request("dynamodb:GetItem", TABLE)) is Decision.ALLOWED
    assert evaluate(statements, Request("s3:GetObject", "x")) is Decision.ALLOWED
    assert evaluate(statements, Request("s3:GetObjectVersion", "x")) is Decision.IMPLICIT_DENY
    assert evaluate(statements, Request("dynamodb:BatchGetItem", TABLE)) is Decision.IMPLICIT_DENY


def test_resources_match_case_sensitively_and_star_spans_slashes() -> None:
    # Given a grant on a bucket's objects
    statements = [allow("s3:GetObject", "arn:aws:s3:::docs-1/*")]
    # Then any object key matches, the bucket itself and another bucket do not, and case counts
    assert evaluate(statements, Request("s3:GetObject", "arn:aws:s3:::docs-1/a/b/c.pdf")) is Decision.ALLOWED
    assert evaluate(statements, Request("s3:GetObject", "arn:aws:s3:::docs-1")) is Decision.IMPLICIT_DENY
    assert evaluate(statements, Request("s3:GetObject", "arn:aws:s3:::docs-12/a")) is Decision.IMPLICIT_DENY
    assert evaluate(statements, Request("s3:GetObject", "arn:aws:s3:::Docs-1/a")) is Decision.IMPLICIT_DENY
    # And a table grant does not cover its indexes
    assert evaluate(
        [allow("dynamodb:Query", TABLE)], Request("dynamodb:Query", TABLE + "/index/by-case")
    ) is (Decision.IMPLICIT_DENY)


def test_not_action_and_not_resource_match_everything_else() -> None:
    # Given statements written with NotAction and NotResource
    statements = [
        {"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"},
        {"Effect": "Deny", "Action": "s3:*", "NotResource": "arn:aws:s3:::docs-1/*"},
    ]
    # Then what they leave out is what they apply to
    assert evaluate(statements, Request("sns:Publish", "arn:aws:sns:us-east-1:1:t")) is Decision.ALLOWED
    assert evaluate(statements, Request("iam:PassRole", "arn:aws:iam::1:role/r")) is Decision.IMPLICIT_DENY
    assert evaluate(statements, Request("s3:GetObject", "arn:aws:s3:::docs-1/x")) is Decision.ALLOWED
    assert evaluate(statements, Request("s3:GetObject", "arn:aws:s3:::other/x")) is Decision.EXPLICIT_DENY


def test_brackets_in_a_pattern_are_literal() -> None:
    # Given IAM has no character classes
    # Then a [ in a pattern matches a [ only
    assert wildcard_match("a[b]*", "a[b]c")
    assert not wildcard_match("a[b]*", "abc")


def test_string_equals_condition_on_the_service_a_key_is_used_through() -> None:
    # Given KMS use allowed only through DynamoDB
    statements = [
        allow(
            "kms:Decrypt",
            KEY,
            Condition={"StringEquals": {"kms:ViaService": "dynamodb.us-east-1.amazonaws.com"}},
        )
    ]
    # Then the key is usable through DynamoDB, not through S3, not directly (the key is absent)
    via_dynamodb = Request("kms:Decrypt", KEY, {"kms:ViaService": "dynamodb.us-east-1.amazonaws.com"})
    via_s3 = Request("kms:Decrypt", KEY, {"kms:ViaService": "s3.us-east-1.amazonaws.com"})
    assert evaluate(statements, via_dynamodb) is Decision.ALLOWED
    assert evaluate(statements, via_s3) is Decision.IMPLICIT_DENY
    assert evaluate(statements, Request("kms:Decrypt", KEY)) is Decision.IMPLICIT_DENY
    # And condition key names are case-insensitive
    assert evaluate(
        statements, Request("kms:Decrypt", KEY, {"KMS:viaservice": "dynamodb.us-east-1.amazonaws.com"})
    )


def test_several_values_are_ored_and_several_keys_anded() -> None:
    # Given a condition with two values for one key and a second key
    condition = {
        "StringEquals": {"ses:FromAddress": ["a@x.com", "b@x.com"]},
        "StringLike": {"aws:PrincipalTag/team": "fin*"},
    }
    statements = [allow("ses:SendRawEmail", "*", Condition=condition)]
    # Then either value passes when the other key holds too
    ok = Request("ses:SendRawEmail", "i", {"ses:FromAddress": "b@x.com", "aws:PrincipalTag/team": "finance"})
    wrong_team = Request(
        "ses:SendRawEmail", "i", {"ses:FromAddress": "b@x.com", "aws:PrincipalTag/team": "ops"}
    )
    wrong_sender = Request(
        "ses:SendRawEmail", "i", {"ses:FromAddress": "c@x.com", "aws:PrincipalTag/team": "fin"}
    )
    assert evaluate(statements, ok) is Decision.ALLOWED
    assert evaluate(statements, wrong_team) is Decision.IMPLICIT_DENY
    assert evaluate(statements, wrong_sender) is Decision.IMPLICIT_DENY


def test_negated_and_if_exists_operators_hold_when_the_key_is_absent() -> None:
    # Given a deny unless the request came through TLS, and an allow on a key if present
    statements = [
        allow(
            "s3:*", "*", Condition={"StringEqualsIfExists": {"s3:x-amz-server-side-encryption": "aws:kms"}}
        ),
        {
            "Effect": "Deny",
            "Action": "s3:*",
            "Resource": "*",
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        },
    ]
    # Then without either key the allow applies and the deny does not
    assert evaluate(statements, Request("s3:PutObject", "arn:aws:s3:::b/k")) is Decision.ALLOWED
    # And a request over plain HTTP is denied
    insecure = Request("s3:PutObject", "arn:aws:s3:::b/k", {"aws:SecureTransport": "false"})
    assert evaluate(statements, insecure) is Decision.EXPLICIT_DENY
    # And StringNotEquals holds for an absent key
    negated = [allow("sns:Publish", "*", Condition={"StringNotEquals": {"aws:SourceAccount": "999"}})]
    assert evaluate(negated, Request("sns:Publish", "t")) is Decision.ALLOWED


def test_an_unknown_operator_is_refused_not_guessed() -> None:
    # Given an operator the evaluator does not implement
    statements = [
        allow("s3:*", "*", Condition={"DateGreaterThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}})
    ]
    # Then the evaluation says so
    with pytest.raises(UnsupportedCondition, match="DateGreaterThan"):
        evaluate(statements, Request("s3:GetObject", "x"))
