"""What the edge in front of the public API refuses, declared once.

``infra/api.py`` builds the WAF web ACL and the API Gateway stage from these values, and the local gateway
(``backoffice/local/gateway.py``) applies the same limits on 127.0.0.1, so a request AWS would refuse is refused
locally too. Plain Python (no CDK import): the local runtime reads it without starting jsii.
"""

from __future__ import annotations

from dataclasses import dataclass

API_STAGE = "v1"

# API Gateway REST quotas, not adjustable: a request body over 10 MB is answered 413 before any integration runs,
# and an integration that has not answered in 29 s is answered 504 (the Lambda may still be running).
API_MAX_BODY_BYTES = 10 * 1024 * 1024
API_INTEGRATION_TIMEOUT_SECONDS = 29
# Request content types API Gateway hands to the Lambda base64-encoded. None: every route takes a small form or
# JSON body; vendor documents go straight to S3 (backoffice.vendors.uploads).
API_BINARY_MEDIA_TYPES: tuple[str, ...] = ()

# What the managed core rule set's body rule is called, and the label it adds when it matches (AWS WAF developer
# guide, "Core rule set (CRS) managed rule group").
CORE_RULE_SET = "AWSManagedRulesCommonRuleSet"
CORE_BODY_RULE = "SizeRestrictions_BODY"
CORE_BODY_LABEL = "awswaf:managed:aws:core-rule-set:SizeRestrictions_Body"
CORE_BODY_LIMIT_BYTES = 8 * 1024  # fixed by AWS: "request bodies over 8 KB"


@dataclass(frozen=True)
class RateLimit:
    """A rate-based rule: an address sending more than ``requests`` in WAF's 5-minute window is blocked."""

    name: str
    requests_per_5_minutes: int


@dataclass(frozen=True)
class BodyLimit:
    """Blocks a request whose body is larger than ``max_bytes``, on the paths under ``path_prefix`` (every path
    when None) other than those under ``except_prefixes``. ``relaxes`` names the managed rule this one stands in
    for: that rule is set to count in its group, and this rule blocks what it matched outside the exceptions."""

    name: str
    max_bytes: int
    path_prefix: str | None = None
    except_prefixes: tuple[str, ...] = ()
    relaxes: str | None = None

    def applies_to(self, path: str) -> bool:
        """Whether ``path`` (a route path without the stage, e.g. ``/webhooks/crm``) is one this rule guards."""
        if self.path_prefix is not None and not path.startswith(self.path_prefix):
            return False
        return not any(path.startswith(prefix) for prefix in self.except_prefixes)


@dataclass(frozen=True)
class Firewall:
    """The web ACL in front of the API, in evaluation order: the rate limit, the managed rule groups, the body
    limits. ``body_inspection_limit`` is how much of a body API Gateway forwards to WAF (``KB_16`` .. ``KB_64``)."""

    rate_limit: RateLimit
    managed_rule_groups: tuple[str, ...]
    body_limits: tuple[BodyLimit, ...]
    body_inspection_limit: str

    def body_limit(self, path: str) -> BodyLimit | None:
        return next((limit for limit in self.body_limits if limit.applies_to(path)), None)


WEBHOOKS_PREFIX = "/webhooks/"
APPROVALS_PREFIX = "/approvals/"
# An approval decision is a form with a comment of at most 4,000 characters (backoffice.approvals: the page says
# so and the textarea stops there); URL-encoded, a comment in a non-Latin script alone is up to 36 KB. A longer
# body is refused by the decision function itself, on the page and with an audit record of who tried what, which
# a WAF block cannot give: so no body rule of the web ACL stands in front of it, only API Gateway's 10 MB quota,
# the per-address rate limit and the managed rules' inspection of the first 64 KB.
# 64 KB is the most of a body API Gateway can give WAF to inspect (KB_64): every byte of an accepted delivery is
# seen by the managed rules, and a larger one is refused at the edge instead of passing half-inspected. The SaaS
# deliveries the product takes are events of a few KB; the receiver's own cap on the event it makes
# (backoffice.connectors.webhooks.MAX_DETAIL_BYTES) lies above this.
WEBHOOK_MAX_BODY_BYTES = 64 * 1024

FIREWALL = Firewall(
    # Approvers open a link, read the page, post a decision: a handful of requests each. The stage caps the whole
    # API; this caps one address, which is what slows anyone guessing link ids.
    rate_limit=RateLimit("RequestsPerAddress", 300),
    managed_rule_groups=(CORE_RULE_SET, "AWSManagedRulesKnownBadInputsRuleSet"),
    body_limits=(
        # The core rule set's 8 KB body rule, kept for every route but the webhooks and the approval decisions (see
        # APPROVALS_PREFIX): the vendor's upload confirmation is a small form; documents never pass through the API.
        BodyLimit(
            "BodyOver8KbOutsideWebhooks",
            CORE_BODY_LIMIT_BYTES,
            except_prefixes=(WEBHOOKS_PREFIX, APPROVALS_PREFIX),
            relaxes=CORE_BODY_RULE,
        ),
        BodyLimit("WebhookBodyOver64Kb", WEBHOOK_MAX_BODY_BYTES, path_prefix=WEBHOOKS_PREFIX),
    ),
    body_inspection_limit="KB_64",
)
