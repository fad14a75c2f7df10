"""What the Lambda layer will ship of the assistant once a handler imports it (the lead's wiring): its code with
the Bedrock adapter and the versioned prompts beside it, and not the dev-only evaluation."""

from __future__ import annotations

from pathlib import Path

from backoffice.assist.bedrock import PROMPT_VERSIONS, prompt_id
from infra.catalog import ROOT
from infra.layer_contents import layer_contents

PACKAGE_DIR = ROOT / "layers" / "shared" / "python" / "backoffice"


def test_a_handler_asking_the_assistant_ships_its_prompts_and_not_its_evaluation(tmp_path: Path) -> None:
    # Given a handler that asks for an assistant as the workflows will
    handler = tmp_path / "summarize_for_approver" / "app.py"
    handler.parent.mkdir()
    handler.write_text("from backoffice.assist.wiring import assistant\n")
    # When the layer's contents are computed for it
    contents = layer_contents(PACKAGE_DIR, tmp_path)
    # Then the port, both adapters and the governance ship, with every prompt the adapter names
    assert {
        "backoffice.assist.wiring",
        "backoffice.assist.bedrock",
        "backoffice.assist.governance",
    } <= contents.modules
    files = set(contents.relative_files())
    assert {f"assist/prompts/{prompt_id(task)}.txt" for task in PROMPT_VERSIONS} <= files
    # And the evaluation and its labelled sets stay on the laptop
    assert "backoffice.assist.evaluation" not in contents.modules
    assert not [f for f in files if "evaluation" in f or f.endswith(".jsonl")]
