"""The firm document's ``ai_assist`` section: which uses Bedrock serves, which model, at what price, and the switch
that turns it all back to the local rules.

Off by default: without the section every use is answered by the local rules and the stack grants no Bedrock call.
A firm turns Bedrock on for the uses it chooses:

    "ai_assist": {"adapter": "bedrock", "enabled_uses": ["approval_summary", "clause_detection"],
                  "model_id": "anthropic.claude-3-haiku-20240307-v1:0", "region": "us-east-1"}

``kill_switch`` (or ``AI_ASSIST_KILL_SWITCH=on`` on a function, for an operator who cannot wait for a deploy) sends
every use to the local rules at once; the firm document reaches warm functions within five minutes
(``firm_settings``). Prices are per 1,000 tokens in USD, as Bedrock's price list states them; the defaults are
Claude 3 Haiku's on-demand list prices (December 2026 list; set the firm's own).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from decimal import Decimal
from typing import Literal

from pydantic import ConfigDict, Field, model_validator

from backoffice.assist.models import ASSIST_USES, AssistUse
from backoffice.models.envelope import JsonModel

KILL_SWITCH_ENV = "AI_ASSIST_KILL_SWITCH"
DEFAULT_MODEL_ID = "anthropic.claude-3-haiku-20240307-v1:0"
# The regions a cross-region inference profile ("us.<model>") may route a request to, by its prefix: the grant
# names the model in each (docs/deploy.md: Bedrock checks the foundation model's ARN in the region that serves).
PROFILE_REGIONS: Mapping[str, tuple[str, ...]] = {
    "us": ("us-east-1", "us-east-2", "us-west-2"),
    "eu": ("eu-central-1", "eu-west-1", "eu-west-3", "eu-north-1"),
    "apac": ("ap-northeast-1", "ap-south-1", "ap-southeast-1", "ap-southeast-2"),
}


class AiAssistConfig(JsonModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    adapter: Literal["local", "bedrock"] = "local"
    # The uses the adapter serves; the others (and every use when the adapter is "local") get the local rules.
    enabled_uses: tuple[AssistUse, ...] = ASSIST_USES
    # A foundation model id ("anthropic.claude-3-haiku-20240307-v1:0") or a cross-region inference profile id
    # ("us.anthropic.claude-3-5-haiku-20241022-v1:0").
    model_id: str = Field(default=DEFAULT_MODEL_ID, min_length=3)
    # Where Bedrock is called; None: the function's own region.
    region: str | None = None
    # For an inference profile: the regions it routes to, when not the table's (PROFILE_REGIONS).
    profile_regions: tuple[str, ...] = ()
    guardrail_id: str | None = None
    guardrail_version: str = "DRAFT"
    price_per_1k_input_tokens: Decimal = Field(default=Decimal("0.00025"), ge=0)
    price_per_1k_output_tokens: Decimal = Field(default=Decimal("0.00125"), ge=0)
    # Per model call (an invalid answer is asked once more); at most 20 s, so that a contract's clause batches (their
    # shared deadline plus one batch) end inside the contract risk step's 90 s.
    timeout_seconds: float = Field(default=10, gt=0, le=20)
    max_output_tokens: int = Field(default=700, ge=64, le=4096)
    kill_switch: bool = False

    @model_validator(mode="after")
    def _profile_known(self) -> AiAssistConfig:
        if self.adapter == "bedrock" and self.inference_profile_prefix() and not self.routing_regions():
            raise ValueError(f"model_id {self.model_id}: name the regions it routes to in profile_regions")
        return self

    def inference_profile_prefix(self) -> str | None:
        """``us`` for ``us.anthropic...``: a cross-region inference profile's geography, else None."""
        head, dot, rest = self.model_id.partition(".")
        return head if dot and rest and "." in rest and head in {*PROFILE_REGIONS, "global"} else None

    def routing_regions(self) -> tuple[str, ...]:
        prefix = self.inference_profile_prefix()
        if prefix is None:
            return ()
        return self.profile_regions or tuple(PROFILE_REGIONS.get(prefix, ()))

    def killed(self, environ: Mapping[str, str] | None = None) -> bool:
        env = os.environ if environ is None else environ
        return self.kill_switch or env.get(KILL_SWITCH_ENV, "").strip().lower() in {"on", "1", "true", "yes"}

    def serves(self, use: AssistUse, environ: Mapping[str, str] | None = None) -> bool:
        """Whether Bedrock answers ``use`` (else the local rules do)."""
        return self.adapter == "bedrock" and use in self.enabled_uses and not self.killed(environ)

    def cost_usd(self, input_tokens: int, output_tokens: int) -> Decimal:
        return (
            Decimal(input_tokens) * self.price_per_1k_input_tokens
            + Decimal(output_tokens) * self.price_per_1k_output_tokens
        ) / 1000

    def stack_setting(self) -> str:
        """What the stack reads at synth (the catalog setting ``ai_assist``): "{}" when Bedrock is off, else the
        model, region, routing regions and Guardrail the grant is scoped to."""
        if self.adapter != "bedrock" or not self.enabled_uses:
            return "{}"
        setting = {
            "model_id": self.model_id,
            "region": self.region or "",
            "routing_regions": list(self.routing_regions()),
            "guardrail_id": self.guardrail_id or "",
        }
        return json.dumps(setting, separators=(",", ":"), sort_keys=True)


def load_ai_assist_config(environ: Mapping[str, str] | None = None) -> AiAssistConfig:
    """The deployed firm document's ``ai_assist`` section (SSM, cached), else the defaults (all local)."""
    from backoffice.firm_settings import firm_policy

    return firm_policy("ai_assist", AiAssistConfig, environ)


__all__ = [
    "DEFAULT_MODEL_ID",
    "KILL_SWITCH_ENV",
    "PROFILE_REGIONS",
    "AiAssistConfig",
    "load_ai_assist_config",
]
