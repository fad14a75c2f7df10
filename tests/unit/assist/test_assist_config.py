"""The firm document's ``ai_assist`` section (backoffice/assist/config.py): off by default, what the stack reads."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from backoffice.assist.config import AiAssistConfig
from backoffice.firm_config import FirmConfigInvalid, load_firm_config, parse_firm_config
from infra.catalog import CATALOG, ROOT

SAMPLE = ROOT / "config" / "sample-firm.json"


def _document(**ai_assist: object) -> dict[str, object]:
    document = json.loads(SAMPLE.read_text())
    document["ai_assist"] = ai_assist
    return document


def test_without_the_section_the_stack_grants_no_bedrock_call_and_every_use_is_local() -> None:
    # Given the sample firm, which has no ai_assist section
    config = load_firm_config(SAMPLE)
    # Then the stack's setting is the catalog's "{}" (no grant) and no use is served by Bedrock
    assert config.settings()["ai_assist"] == CATALOG.settings["ai_assist"] == "{}"
    defaults = AiAssistConfig()
    assert defaults.adapter == "local" and not any(defaults.serves(use) for use in defaults.enabled_uses)


def test_a_firm_turning_bedrock_on_gives_the_stack_its_model_and_region() -> None:
    # Given a firm enabling Bedrock for summaries in us-east-1
    document = _document(adapter="bedrock", enabled_uses=["approval_summary"], region="us-east-1")
    # When the document is read
    setting = json.loads(parse_firm_config(document, "firm.json").settings()["ai_assist"])
    # Then the stack is told which model in which region to grant, and no routing regions (a foundation model)
    assert setting == {
        "model_id": "anthropic.claude-3-haiku-20240307-v1:0",
        "region": "us-east-1",
        "routing_regions": [],
        "guardrail_id": "",
    }


def test_an_inference_profile_names_the_regions_it_routes_to() -> None:
    # Given a US cross-region inference profile, then one of an unknown geography with its regions named
    us = AiAssistConfig(adapter="bedrock", model_id="us.anthropic.claude-3-5-haiku-20241022-v1:0")
    custom = AiAssistConfig(
        adapter="bedrock", model_id="global.anthropic.claude-sonnet-4-v1:0", profile_regions=("us-east-1",)
    )
    # Then each grant covers the model in every region a request may be served from
    assert us.routing_regions() == ("us-east-1", "us-east-2", "us-west-2")
    assert json.loads(custom.stack_setting())["routing_regions"] == ["us-east-1"]


def test_a_profile_whose_regions_are_unknown_is_refused_naming_the_field() -> None:
    # Given a global profile without its regions
    document = _document(adapter="bedrock", model_id="global.anthropic.claude-sonnet-4-v1:0")
    # When validated  Then the problem names the section and what to add
    with pytest.raises(FirmConfigInvalid) as refused:
        parse_firm_config(document, "firm.json")
    assert any("ai_assist" in p and "profile_regions" in p for p in refused.value.problems)


def test_an_unknown_use_or_key_is_refused() -> None:
    with pytest.raises(FirmConfigInvalid) as refused:
        parse_firm_config(_document(enabled_uses=["write_contracts"], temperature=1), "firm.json")
    assert {p.split(":")[0] for p in refused.value.problems} >= {
        "ai_assist.enabled_uses.0",
        "ai_assist.temperature",
    }


def test_cost_is_tokens_times_the_price_per_thousand() -> None:
    config = AiAssistConfig(
        price_per_1k_input_tokens=Decimal("0.003"), price_per_1k_output_tokens=Decimal("0.015")
    )
    assert config.cost_usd(2000, 100) == Decimal("0.0075")
