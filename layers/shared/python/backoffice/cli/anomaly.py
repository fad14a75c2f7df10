"""``backoffice anomaly``: how well the scorer sends what matters to review, and refitting it on reviewers' decisions.

    backoffice anomaly eval [--seed N] [--model FILE] [--target-precision P] [--json]
    backoffice anomaly retrain [--labels FILE] [--policy FILE] [--with-generator] [--min-labels N] [--out FILE]

``eval`` scores a labelled firm from the generator (115 people, a quarter, 270 days of history; seed 2026 is not
one the shipped model was fitted on) and prints precision and recall per check and per TE rule at review, with
the floors (recall 0.95, precision 0.90); it exits 1 when a check or rule misses them.

``retrain`` reads the reviewers' decisions (the labels the settled exception reviews stored in the running
runtime's documents bucket, or a JSON file of them), refits the signal model on all but a held-back share and
prints the current and the new model's figures on that share, then writes the new model (default
``.local/signal_model.json``): it goes live as the ``signal_model`` of the firm's anomaly policy (``--policy FILE``
or ``$ANOMALY_POLICY``, the policy the scoring Lambda reads: its violations and target precision are used). With fewer
decided signal lines than ``--min-labels`` it refuses, unless ``--with-generator`` adds the labelled generator's.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the commands import the scorer (pydantic, the generator) when they run, not for --help
    from backoffice.anomaly import AnomalyPolicy
    from backoffice.anomaly.labels import ReviewLabel

DEFAULT_MODEL_OUT = Path(".local/signal_model.json")
EVALUATION_SEED = 2026  # anomaly.evaluation.EVALUATION_SEED (a test keeps them equal)
MIN_LABELS = 200  # anomaly.retraining.MIN_LABELS (a test keeps them equal)
POLICY_ENV = "ANOMALY_POLICY"  # the firm's anomaly policy, as the scoring Lambda reads it

Connect = Callable[[argparse.Namespace], Any]


def _overrides(args: argparse.Namespace) -> dict[str, Any]:
    from backoffice.anomaly.signal_model import SignalModel

    overrides: dict[str, Any] = {}
    if args.model:
        overrides["signal_model"] = SignalModel.model_validate_json(Path(args.model).read_text())
    if args.target_precision is not None:
        overrides["target_precision"] = args.target_precision
    return overrides


def _firm_policy(args: argparse.Namespace) -> AnomalyPolicy:
    """The firm's anomaly policy: ``--policy FILE``, else ``$ANOMALY_POLICY`` (what the scoring Lambda reads),
    else the defaults; with the command's overrides."""
    from backoffice.anomaly import AnomalyPolicy

    text = Path(args.policy).read_text() if args.policy else os.environ.get(POLICY_ENV, "")
    policy = AnomalyPolicy.from_json_dict(json.loads(text)) if text else AnomalyPolicy()
    return policy.model_copy(update=_overrides(args))


def cmd_eval(args: argparse.Namespace) -> int:
    from backoffice.anomaly import evaluation as ev

    policy = ev.sample_policy(**_overrides(args))
    firm = ev.sample_firm(args.seed, policy)
    scored = ev.score_firm(firm, policy)
    checks, rules = ev.by_check(firm.labels, scored), ev.by_rule(firm.labels, scored)
    model = policy.model()
    threshold = model.threshold_for(policy.target_precision)
    missed = [name for name, found in {**checks, **rules}.items() if not found.meets()]
    if args.json:
        print(
            json.dumps(
                {
                    "seed": args.seed,
                    "lines": firm.line_count,
                    "model": {"trained_on": model.trained_on, "trained_at": model.trained_at.isoformat()},
                    "target_precision": policy.target_precision,
                    "review_threshold": threshold,
                    "checks": {name: _figures(found) for name, found in checks.items()},
                    "rules": {name: _figures(found) for name, found in rules.items()},
                    "below_floors": missed,
                },
                indent=2,
            )
        )
        return 1 if missed else 0
    print(
        f"labelled firm: seed {args.seed}, {firm.line_count:,} lines, {len(firm.labels):,} with an anomaly\n"
        f"signal model: {model.trained_on} ({model.trained_at}); review threshold {threshold:.4f} for a "
        f"precision of {policy.target_precision:.0%}\n"
        f"found = sent to review with a reason of the check; floors: recall {ev.FLOORS[0]}, precision "
        f"{ev.FLOORS[1]}\n"
    )
    print(ev.table(checks))
    print()
    print(ev.table(rules))
    print()
    print(f"below the floors: {', '.join(missed)}" if missed else "every check and rule meets the floors")
    return 1 if missed else 0


def _figures(found: Any) -> dict[str, Any]:
    """An ``evaluation.Figures`` as JSON."""
    return {
        "labelled": found.labelled,
        "sent": found.sent,
        "found": found.found,
        "recall": round(found.recall, 4),
        "precision": round(found.precision, 4),
        "meets_floors": found.meets(),
    }


def read_labels(args: argparse.Namespace, connect: Connect) -> list[ReviewLabel]:
    from backoffice.anomaly.labels import ReviewLabel, ReviewLabels

    if args.labels:
        body = json.loads(Path(args.labels).read_text())
        return [ReviewLabel.from_json_dict(item) for item in body.get("labels", body)]
    runtime = connect(args)
    try:
        return list(ReviewLabels(runtime.client("s3"), runtime.documents_bucket).read_all())
    finally:
        runtime.stop()


def cmd_retrain(args: argparse.Namespace, connect: Connect) -> int:
    from backoffice.anomaly import evaluation as ev
    from backoffice.anomaly.retraining import comparison_table, retrain, signal_lines
    from backoffice.anomaly.signal_model import save

    policy = _firm_policy(args)
    labels = read_labels(args, connect)
    lines = signal_lines(labels, policy.violations)
    sources = [f"reviewer decisions ({len(lines)} signal lines of {len(labels)} decided)"]
    if len(lines) < args.min_labels and not args.with_generator:
        print(
            f"{len(lines)} decided signal line(s) (of {len(labels)} labels): fewer than {args.min_labels}, too few "
            "to refit on; keep the current model, or add the labelled generator's lines with --with-generator",
            file=sys.stderr,
        )
        return 1
    if args.with_generator:
        generated = []
        sample = ev.sample_policy()  # the generator's firm is the sample firm, with its own limits
        for seed in ev.TRAINING_SEEDS:
            firm = ev.sample_firm(seed, sample)
            generated += ev.labelled_signal_lines(
                firm.labels, ev.score_firm(firm, sample), sample, prefix=f"generator-{seed}:"
            )
        lines += generated
        sources.append(f"labelled generator ({len(generated)} signal lines)")
    retrained = retrain(
        lines,
        policy.model(),
        target_precision=policy.target_precision,
        trained_on=" + ".join(sources),
        trained_at=datetime.now(UTC).date(),
    )
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    save(retrained.model, out)
    print(f"refitted on {retrained.model.training_lines} lines: {retrained.model.trained_on}")
    print(f"held back: {retrained.before.lines} lines, {retrained.before.problems} real problems\n")
    print(comparison_table(retrained))
    print("\nwhat each signal adds to the log-odds (after):")
    for line in retrained.model.explained():
        print(f"  {line}")
    print(f"\nwritten to {out}: set it as the anomaly policy's signal_model to put it in use")
    return 0


def add_anomaly_parser(subparsers: Any, connect: Connect) -> None:
    """Register ``anomaly eval`` and ``anomaly retrain`` on the top-level sub-commands."""
    anomaly = subparsers.add_parser("anomaly", help="the anomaly scorer's quality, and refitting it")
    commands = anomaly.add_subparsers(dest="anomaly_command", required=True)

    evaluate = commands.add_parser(
        "eval", help="precision and recall per check and rule on a labelled firm; exit 1 below the floors"
    )
    evaluate.add_argument("--seed", type=int, default=EVALUATION_SEED, help="the labelled firm's seed")
    evaluate.add_argument("--model", help="a signal model file to evaluate (default: the shipped one)")
    evaluate.add_argument("--target-precision", type=float, help="default: the policy's (0.9)")
    evaluate.add_argument("--json", action="store_true")
    evaluate.set_defaults(func=cmd_eval)

    refit = commands.add_parser(
        "retrain",
        help="refit the signal model on reviewers' decisions; print before/after on held-back lines",
    )
    refit.add_argument("--labels", help="a JSON file of labels (default: the running runtime's)")
    refit.add_argument("--with-generator", action="store_true", help="add the labelled generator's lines")
    refit.add_argument(
        "--min-labels", type=int, default=MIN_LABELS, help="fewest decided signal lines to refit on"
    )
    refit.add_argument(
        "--policy", help=f"the firm's anomaly policy JSON (default ${POLICY_ENV}, else the defaults)"
    )
    refit.add_argument("--model", help="the current model file (default: the policy's, else the shipped one)")
    refit.add_argument("--target-precision", type=float, help="default: the policy's (0.9)")
    refit.add_argument(
        "--out", default=str(DEFAULT_MODEL_OUT), help=f"where to write it ({DEFAULT_MODEL_OUT})"
    )
    refit.set_defaults(func=partial(cmd_retrain, connect=connect))
