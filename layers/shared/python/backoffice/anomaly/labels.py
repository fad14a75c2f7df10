"""Reviewers' decisions as labels: what a person decided on each line the scorer sent to review, with the line's
checks and signal strengths, so that the signal model is refitted on the firm's own judgement
(``backoffice anomaly retrain``) and the scorer's agreement with the reviewers is reported per rule and month.

A label is written when an exception review is settled (``invoicing.steps.settle_review``): one JSON file per
project and billing run under ``anomaly-labels/<period start>/<project id>/<run case id>.json`` in the documents
bucket, so a retried step writes the same file again rather than a second copy. A line counts as a real problem
when the reviewer kept it from billing as recorded (sent back to the worker, or written off).

Only lines a person looked at get a label: lines the scorer left below the threshold are never decided, so the
labels measure precision (how often the reviewers confirm what the scorer sends them) far better than recall.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

from pydantic import ConfigDict, Field

from backoffice.anomaly.policy import CHECKS
from backoffice.json_files import get_json, put_json
from backoffice.models.envelope import JsonModel

LABELS_PREFIX = "anomaly-labels"
_RULE_ORDER = {
    rule: place for place, rule in enumerate(dict.fromkeys(check.rule for check in CHECKS.values()))
}
Decision = Literal["approved", "sent_back", "written_off"]


class ReviewLabel(JsonModel):
    """One line a reviewer decided: what the scorer saw on it and what the person did."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    line_id: str
    kind: Literal["time", "expense"]
    project_id: str
    period_start: date
    run_case_id: str
    checks: list[str]  # the scorer's checks that fired on the line
    rules: list[str]  # their TE rules
    features: dict[str, float] = Field(default_factory=dict)  # the signal strengths (the model's features)
    score: float = Field(ge=0, le=1)
    decision: Decision
    decided_at: datetime

    @property
    def is_problem(self) -> bool:
        """The reviewer kept the line from billing as recorded: the scorer was right to send it."""
        return self.decision != "approved"


def label_key(period_start: date, project_id: str, run_case_id: str) -> str:
    return f"{LABELS_PREFIX}/{period_start.isoformat()}/{project_id}/{run_case_id}.json"


@dataclass(frozen=True)
class ReviewLabels:
    """The labels in the documents bucket (``s3`` a boto3 client)."""

    s3: Any
    bucket: str

    def put(self, labels: list[ReviewLabel]) -> str | None:
        """Writes the labels of one project's review in one run; None when there are none."""
        if not labels:
            return None
        first = labels[0]
        key = label_key(first.period_start, first.project_id, first.run_case_id)
        put_json(
            self.s3, self.bucket, key, {"labels": [label.to_json_dict() for label in labels]}, sort_keys=True
        )
        return key

    def read_all(self) -> Iterator[ReviewLabel]:
        """Every label stored, file by file (paged)."""
        pages = self.s3.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=f"{LABELS_PREFIX}/"
        )
        for page in pages:
            for item in page.get("Contents", []):
                body = get_json(self.s3, self.bucket, item["Key"])
                yield from (ReviewLabel.from_json_dict(label) for label in body["labels"])


def decision_counts(labels: Iterable[ReviewLabel]) -> dict[str, dict[str, int]]:
    """Per rule: how many of its lines the reviewers confirmed (kept from billing) and cleared (let bill), as a
    settled review's audit record carries them for the process report."""
    confirmed: Counter[str] = Counter()
    cleared: Counter[str] = Counter()
    for label in labels:
        for rule in set(label.rules):
            (confirmed if label.is_problem else cleared)[rule] += 1
    return {
        rule: {"confirmed": confirmed[rule], "cleared": cleared[rule]}
        for rule in sorted(
            {*confirmed, *cleared}, key=lambda rule: (_RULE_ORDER.get(rule, len(_RULE_ORDER)), rule)
        )
    }
