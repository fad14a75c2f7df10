"""``assistant(use, case, trail=...)``: the governed assistant for one use of one case, from the firm's config.

Bedrock answers a use only when the firm's ``ai_assist`` section says ``"adapter": "bedrock"``, lists the use in
``enabled_uses`` and the kill switch is off; otherwise the local rules do. Either way the call is masked, audited
and measured (``governance``). Build one per call (it is cheap): the case is part of it.
"""

from __future__ import annotations

from typing import Any

from backoffice.assist.config import AiAssistConfig, load_ai_assist_config
from backoffice.assist.governance import GovernedAssistant
from backoffice.assist.local import LocalAssistant
from backoffice.assist.models import AssistCase, AssistUse
from backoffice.assist.port import Assistant, ClauseRules
from backoffice.audit import CaseTrail


def assistant(
    use: AssistUse,
    case: AssistCase | None,
    *,
    trail: CaseTrail | None,
    clause_rules: ClauseRules | None = None,
    config: AiAssistConfig | None = None,
    bedrock_client: Any = None,
) -> GovernedAssistant:
    """The assistant for ``use`` on ``case``, each call audited on ``trail`` (None: not audited, the eval only).

    ``clause_rules``: the firm's contract-risk rules (``onboarding.clause_rules.clause_rules(policy)``), needed for
    ``clause_detection`` (the local answer, and Bedrock's fallback). ``config``: the firm's ``ai_assist`` section
    (default: read from the deployed firm document). ``bedrock_client``: a ``bedrock-runtime`` client (default: the
    container's shared one, in the configured region and with its timeout)."""
    settings = config if config is not None else load_ai_assist_config()
    local = LocalAssistant(clause_rules)
    inner: Assistant = local
    if settings.serves(use):
        from backoffice.assist.bedrock import BedrockAssistant, bedrock_runtime

        inner = BedrockAssistant(bedrock_client or bedrock_runtime(settings), settings)
    return GovernedAssistant(use, inner, local, config=settings, case=case, trail=trail)


__all__ = ["assistant"]
