"""The web ACL in front of the public API, as synthesized: the core rule set's 8 KB body rule counts instead of
blocking, a rule of ours blocks what it matched everywhere but the webhooks, the webhooks have a 64 KB rule of
their own, and every value comes from ``infra/edge.py`` (which the local gateway applies too)."""

from __future__ import annotations

from typing import Any

import pytest
from synthesized_stack import Synthesized

from infra.api import STAGE
from infra.edge import (
    APPROVALS_PREFIX,
    CORE_BODY_LABEL,
    CORE_BODY_RULE,
    CORE_RULE_SET,
    FIREWALL,
    WEBHOOK_MAX_BODY_BYTES,
    WEBHOOKS_PREFIX,
)


@pytest.fixture(scope="module")
def rules(synthesized: Synthesized) -> dict[str, dict[str, Any]]:
    (acl,) = synthesized.of_type("AWS::WAFv2::WebACL").values()
    return {rule["Name"]: rule for rule in acl["Properties"]["Rules"]}


def path_match(prefix: str) -> dict[str, Any]:
    return {
        "ByteMatchStatement": {
            "FieldToMatch": {"UriPath": {}},
            "PositionalConstraint": "STARTS_WITH",
            "SearchString": f"/{STAGE}{prefix}",
            "TextTransformations": [{"Priority": 0, "Type": "NONE"}],
        }
    }


def webhook_path_match() -> dict[str, Any]:
    return path_match(WEBHOOKS_PREFIX)


def test_the_core_rule_sets_body_rule_counts_and_labels_instead_of_blocking(
    rules: dict[str, dict[str, Any]],
) -> None:
    # Given the core rule set in the web ACL
    group = rules[CORE_RULE_SET]["Statement"]["ManagedRuleGroupStatement"]
    # Then its 8 KB body rule is overridden to count (its other rules block as AWS ships them)
    assert group["RuleActionOverrides"] == [{"Name": CORE_BODY_RULE, "ActionToUse": {"Count": {}}}]


def test_bodies_over_8_kb_are_blocked_on_every_route_but_the_webhooks_and_approvals(
    rules: dict[str, dict[str, Any]],
) -> None:
    # Given the rule that stands in for the core rule set's body rule
    rule = rules["BodyOver8KbOutsideWebhooks"]
    # Then it blocks a request the managed rule labelled, unless its path is under /v1/webhooks/ or /v1/approvals/
    assert rule["Action"] == {"Block": {}}
    assert rule["Statement"]["AndStatement"]["Statements"] == [
        {"LabelMatchStatement": {"Key": CORE_BODY_LABEL, "Scope": "LABEL"}},
        {"NotStatement": {"Statement": webhook_path_match()}},
        {"NotStatement": {"Statement": path_match(APPROVALS_PREFIX)}},
    ]
    # And it is evaluated after the rule group that adds the label
    assert rule["Priority"] > rules[CORE_RULE_SET]["Priority"]


def test_webhook_bodies_over_64_kb_are_blocked_and_wafs_inspection_covers_them(
    synthesized: Synthesized, rules: dict[str, dict[str, Any]]
) -> None:
    # Given the webhooks' own body rule
    rule = rules["WebhookBodyOver64Kb"]
    # Then it blocks a body over 64 KB on /v1/webhooks/ (a body too large to inspect counts as over)
    assert rule["Action"] == {"Block": {}}
    size, path = rule["Statement"]["AndStatement"]["Statements"]
    assert size["SizeConstraintStatement"] == {
        "ComparisonOperator": "GT",
        "Size": WEBHOOK_MAX_BODY_BYTES,
        "FieldToMatch": {"Body": {"OversizeHandling": "MATCH"}},
        "TextTransformations": [{"Priority": 0, "Type": "NONE"}],
    }
    assert path == webhook_path_match()
    # And API Gateway forwards 64 KB of a body to WAF, so a delivery within the limit is inspected whole
    (acl,) = synthesized.of_type("AWS::WAFv2::WebACL").values()
    limit = acl["Properties"]["AssociationConfig"]["RequestBody"]["API_GATEWAY"]
    assert limit == {"DefaultSizeInspectionLimit": "KB_64"}


def test_no_body_rule_stands_before_the_approval_decisions(rules: dict[str, dict[str, Any]]) -> None:
    # Given the web ACL's body rules
    guards = [limit.name for limit in FIREWALL.body_limits if limit.applies_to(f"{APPROVALS_PREFIX}link")]
    # Then none applies to an approval decision: the function refuses a long comment itself, with an audit record
    assert guards == []
    assert path_match(APPROVALS_PREFIX) in [
        statement["NotStatement"]["Statement"]
        for statement in rules["BodyOver8KbOutsideWebhooks"]["Statement"]["AndStatement"]["Statements"]
        if "NotStatement" in statement
    ]


def test_the_web_acl_is_the_one_the_edge_description_declares(rules: dict[str, dict[str, Any]]) -> None:
    # Then every rule of infra/edge.py is in the web ACL, in its order, and nothing else
    declared = [
        FIREWALL.rate_limit.name,
        *FIREWALL.managed_rule_groups,
        *(limit.name for limit in FIREWALL.body_limits),
    ]
    assert sorted(rules, key=lambda name: rules[name]["Priority"]) == declared
    rate = rules[FIREWALL.rate_limit.name]["Statement"]["RateBasedStatement"]
    assert rate == {"AggregateKeyType": "IP", "Limit": FIREWALL.rate_limit.requests_per_5_minutes}


def test_the_api_takes_no_binary_bodies(synthesized: Synthesized) -> None:
    # Given the REST API: documents go to S3 with presigned POSTs, never through it
    (api,) = synthesized.of_type("AWS::ApiGateway::RestApi").values()
    # Then it declares no binary media type
    assert "BinaryMediaTypes" not in api["Properties"]
