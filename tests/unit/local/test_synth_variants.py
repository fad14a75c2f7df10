"""The cached synthesis of a variant of the stack (more CDK context, as `cdk synth -c`): where it is kept, and the
context reaching only the variant's synthesis."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from backoffice.local import template


def test_a_variant_is_kept_by_its_context_whatever_the_order_of_its_names() -> None:
    # Given two contexts, and the first written in another order
    bedrock = {"ai_assist": '{"model_id": "m"}', "other": "x"}
    reordered = {"other": "x", "ai_assist": '{"model_id": "m"}'}
    relay = {"salesforce_partner_event_source": "aws.partner/salesforce.com/1/2"}
    # When their templates' places are asked for
    # Then the same context has one place, another context its own, neither the default template's
    assert template.variant_path(bedrock) == template.variant_path(reordered)
    assert template.variant_path(bedrock) != template.variant_path(relay)
    assert template.variant_path(bedrock).name.startswith(template.inputs_digest() + "-")
    assert template.variant_path(bedrock).name != f"{template.inputs_digest()}.template.json"


@pytest.mark.parametrize(
    ("context", "expected"), [(None, None), ('{"ai_assist": "{}"}', '{"ai_assist": "{}"}')]
)
def test_only_a_variants_synthesis_is_given_a_context(
    context: str | None, expected: str | None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a context left in the environment by someone else, and the synthesis' command recorded
    monkeypatch.setenv(template.CONTEXT_VARIABLE, '{"left": "over"}')
    seen: list[dict[str, str]] = []

    def run(command: list[str], **options: Any) -> subprocess.CompletedProcess[str]:
        seen.append(options["env"])
        (tmp_path / template.STACK_TEMPLATE).write_text("{}")
        (tmp_path / template.CHECKS).write_text("{}")
        return subprocess.CompletedProcess(command, 0, "", "")

    monkeypatch.setattr(template.subprocess, "run", run)
    # When the default stack (no context) or a variant is synthesized
    template._run_synth(tmp_path, context=context)
    # Then the default's synthesis sees no context at all, the variant's exactly its own
    assert seen[0].get(template.CONTEXT_VARIABLE) == expected
    assert seen[0]["CDK_OUTDIR"] == str(tmp_path)
