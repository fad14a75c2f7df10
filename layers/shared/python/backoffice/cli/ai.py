"""``backoffice ai eval``: how well the assistant does on the labelled sets kept in the repository.

    backoffice ai eval --task clauses|documents|summaries [--adapter local|bedrock] [--model-id ID]
                       [--region REGION] [--data DIR] [--json]

``clauses`` and ``documents`` print precision, recall and F1 per label, the accuracy and macro F1 (and for clauses
how well nonstandard sentences are flagged at all, overall and on paraphrases the rules were not written for);
``summaries`` checks each summary by the rubric (every fact present, no amount not in the facts, at most 120 words,
both outcomes said). ``--adapter bedrock`` calls Amazon Bedrock with your own AWS credentials (the model
``--model-id``, default the firm default, in ``--region``); every call is masked as in production, and an answer
the local rules gave instead (refused, throttled, ...) is counted as a fallback. The sets are in
``evaluation/ai/`` (``--data`` for others). Exit 0 when the run completed; the figures are for people to judge.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from infra.catalog import ROOT

if TYPE_CHECKING:
    from backoffice.assist.evaluation import Scores, SummaryResult
    from backoffice.assist.models import AssistUse

DATA_DIR = ROOT / "evaluation" / "ai"
TASKS: dict[str, AssistUse] = {
    "clauses": "clause_detection",
    "documents": "document_classification",
    "summaries": "approval_summary",
}


def add_ai_parser(commands: Any) -> None:
    ai = commands.add_parser("ai", help="the AI assist: measure it on the labelled sets")
    sub = ai.add_subparsers(dest="ai_command", required=True)
    evaluate = sub.add_parser(
        "eval", help="precision/recall/F1 per label, or the summary rubric, on a labelled set"
    )
    evaluate.add_argument("--task", choices=sorted(TASKS), required=True)
    evaluate.add_argument("--adapter", choices=("local", "bedrock"), default="local")
    evaluate.add_argument(
        "--model-id", help="Bedrock model or inference profile id (default: the firm default)"
    )
    evaluate.add_argument("--region", help="Bedrock's region (default: your AWS configuration's)")
    evaluate.add_argument(
        "--data", type=Path, default=DATA_DIR, help=f"the sets' folder (default {DATA_DIR})"
    )
    evaluate.add_argument("--json", action="store_true", help="the figures as JSON")
    evaluate.set_defaults(func=cmd_ai_eval)


def _assistant(task: str, args: argparse.Namespace) -> Any:
    from backoffice.assist.config import AiAssistConfig
    from backoffice.assist.wiring import assistant
    from backoffice.onboarding.clause_rules import clause_rules

    values: dict[str, Any] = {"adapter": args.adapter}
    if args.model_id:
        values["model_id"] = args.model_id
    if args.region:
        values["region"] = args.region
    config = AiAssistConfig.model_validate(values)
    client = None
    if args.adapter == "bedrock":
        import boto3
        from botocore.config import Config

        timeouts = Config(
            read_timeout=config.timeout_seconds, retries={"total_max_attempts": 1, "mode": "standard"}
        )
        client = boto3.client("bedrock-runtime", region_name=config.region, config=timeouts)
    # Each labelled sentence stands alone: the rules must not read a carve-out from another row.
    rules = clause_rules(together=False)
    return assistant(TASKS[task], None, trail=None, clause_rules=rules, config=config, bedrock_client=client)


def cmd_ai_eval(args: argparse.Namespace) -> int:
    from backoffice.assist.evaluation import (
        evaluate_clauses,
        evaluate_documents,
        evaluate_summaries,
        read_set,
    )

    path = Path(args.data) / f"{args.task}.jsonl"
    if not path.is_file():
        print(f"no labelled set at {path}", file=sys.stderr)
        return 2
    rows = read_set(path)
    # Each call emits its metrics on stdout in Lambda; here they would drown the figures.
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    governed = _assistant(args.task, args)
    who = f"{args.adapter} ({governed.inner.model_id})"
    if args.task == "summaries":
        results = evaluate_summaries(governed, rows)
        print(json.dumps(_summaries_json(results), indent=2) if args.json else _summaries_text(results, who))
        return 0
    scores = (
        evaluate_clauses(governed, rows) if args.task == "clauses" else evaluate_documents(governed, rows)
    )
    print(
        json.dumps(_scores_json(scores), indent=2)
        if args.json
        else _scores_text(scores, args.task, who, path)
    )
    return 0


def _scores_json(scores: Scores) -> dict[str, Any]:
    return {
        "labels": {
            s.label: {
                "precision": round(s.precision, 4),
                "recall": round(s.recall, 4),
                "f1": round(s.f1, 4),
                "support": s.support,
            }
            for s in scores.labels
        },
        "accuracy": round(scores.accuracy, 4),
        "macro_f1": round(scores.macro_f1, 4),
        "total": scores.total,
        "fallbacks": scores.fallbacks,
        **{k: round(v, 4) for k, v in scores.extra.items()},
    }


def _scores_text(scores: Scores, task: str, who: str, path: Path) -> str:
    lines = [
        f"{task}: {scores.total} labelled items from {path.name}, adapter {who}",
        f"{'label':34} {'precision':>9} {'recall':>7} {'F1':>6} {'support':>8}",
    ]
    lines += [
        f"{s.label:34} {s.precision:9.2f} {s.recall:7.2f} {s.f1:6.2f} {s.support:8d}" for s in scores.labels
    ]
    lines.append(f"{'overall':34} accuracy {scores.accuracy:.2f}, macro F1 {scores.macro_f1:.2f}")
    extra = scores.extra
    if task == "clauses":
        lines.append(
            f"flagging nonstandard sentences: precision {extra['flagged_precision']:.2f}, recall "
            f"{extra['flagged_recall']:.2f}, F1 {extra['flagged_f1']:.2f}; on the {extra['paraphrases']:.0f} "
            f"paraphrases: recall {extra['paraphrase_flagged_recall']:.2f} (right label "
            f"{extra['paraphrase_label_recall']:.2f})"
        )
    else:
        lines.append(
            f"documents under the wrong slot: {extra['wrong_slot_documents']:.0f}, typed right "
            f"{extra['wrong_slot_accuracy']:.2f}"
        )
    if scores.fallbacks:
        lines.append(f"{scores.fallbacks} answers came from the local rules after the model failed")
    return "\n".join(lines)


def _summaries_json(results: list[SummaryResult]) -> dict[str, Any]:
    return {
        "contexts": len(results),
        "passed": sum(not r.problems for r in results),
        "fallbacks": sum(bool(r.fallback_reason) for r in results),
        "results": [
            {
                "title": r.title,
                "words": r.words,
                "problems": list(r.problems),
                "fallback_reason": r.fallback_reason,
            }
            for r in results
        ],
    }


def _summaries_text(results: list[SummaryResult], who: str) -> str:
    passed = sum(not r.problems for r in results)
    lines = [
        f"summaries: {len(results)} approval contexts, adapter {who}, rubric passed {passed}/{len(results)}"
    ]
    for r in results:
        verdict = "ok" if not r.problems else "; ".join(r.problems)
        fallback = f" (local rules: {r.fallback_reason})" if r.fallback_reason else ""
        lines.append(f"  {r.words:3d} words  {r.title}: {verdict}{fallback}")
    return "\n".join(lines)


__all__ = ["DATA_DIR", "add_ai_parser", "cmd_ai_eval"]
