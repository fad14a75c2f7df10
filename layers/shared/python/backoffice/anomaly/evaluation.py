"""How well the scorer sends what matters to review: precision and recall per check and per TE rule, on a labelled
set, and the labelled lines the signal model is fitted on.

A line counts as found for a check when it goes to review (a policy violation, or signals at or above the review
threshold) with a reason of that check: a signal the rules saw but the model left below the threshold is missed,
as it would be in the firm. Laptop and CI code (``backoffice anomaly eval``, the quality tests): it reads the
labelled generator and never ships in the Lambda layer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from backoffice.anomaly.generator import GeneratedFirm, generate_sample_firm, sample_firm_policy
from backoffice.anomaly.policy import CHECKS, AnomalyPolicy
from backoffice.anomaly.scored import ScoredLine
from backoffice.anomaly.scoring import score_rows
from backoffice.anomaly.signal_model import LabelledLine, SignalModel, fit_signal_model

# The sample firm the figures are read on: 115 people over a quarter (about 22,000 lines) with 270 days of
# clean history; the seeds the shipped model is fitted on are others, so its figures are out of sample.
EVALUATION_SEED = 2026
TRAINING_SEEDS = (11, 12, 13)
SAMPLE_WORKERS = 115
SAMPLE_HISTORY_DAYS = 270
FLOORS = (0.95, 0.90)  # (recall, precision) every type must reach


@dataclass(frozen=True)
class Figures:
    """Of ``labelled`` lines carrying an anomaly, ``found`` went to review with its reason; ``sent`` lines went
    to review with that reason, ``found`` of them labelled."""

    labelled: int
    sent: int
    found: int

    @property
    def recall(self) -> float:
        return self.found / self.labelled if self.labelled else 0.0

    @property
    def precision(self) -> float:
        return self.found / self.sent if self.sent else 0.0

    def meets(self, floors: tuple[float, float] = FLOORS) -> bool:
        return self.recall >= floors[0] and self.precision >= floors[1]


def sample_policy(**overrides: object) -> AnomalyPolicy:
    """The sample firm's policy as the figures are read with: Benford sets of 100 amounts and more, compared with
    the firm's own digits at a MAD limit of 0.05 (see tests/unit/anomaly/test_anomaly_quality.py for why)."""
    values: dict[str, object] = {"benford_min_lines": 100, "benford_mad_limit": 0.05, **overrides}
    return sample_firm_policy(**values)


def sample_firm(seed: int = EVALUATION_SEED, policy: AnomalyPolicy | None = None) -> GeneratedFirm:
    return generate_sample_firm(
        seed=seed,
        n_workers=SAMPLE_WORKERS,
        history_days=SAMPLE_HISTORY_DAYS,
        policy=policy or sample_policy(),
    )


def score_firm(firm: GeneratedFirm, policy: AnomalyPolicy | None = None) -> list[ScoredLine]:
    policy = policy or firm.policy
    return score_rows(
        firm.time_rows, firm.expense_rows, firm.history(), policy, worker_roles=firm.worker_roles()
    )


def by_check(labels: Mapping[str, Iterable[str]], scored: Iterable[ScoredLine]) -> dict[str, Figures]:
    """Figures per check (``CHECKS``): found = reviewed with a reason of the check and labelled with it."""
    return _figures_by(labels, scored, list(CHECKS), lambda check: check)


def by_rule(labels: Mapping[str, Iterable[str]], scored: Iterable[ScoredLine]) -> dict[str, Figures]:
    """Figures per TE rule: a line counts for a rule when it carries any of the rule's checks."""
    rules = sorted({check.rule for check in CHECKS.values()}, key=lambda rule: int(rule[2:]))
    return _figures_by(labels, scored, rules, lambda check: CHECKS[check].rule)


def _figures_by(
    labels: Mapping[str, Iterable[str]],
    scored: Iterable[ScoredLine],
    groups: Sequence[str],
    group_of: Callable[[str], str],
) -> dict[str, Figures]:
    """Figures per group of checks (a check itself, or its rule)."""

    def grouped(checks: Iterable[str]) -> set[str]:
        return {group_of(check) for check in checks if check in CHECKS}

    labelled_in = {line_id: grouped(checks) for line_id, checks in labels.items()}
    sent_in = {line.line_id: grouped(line.checks) for line in scored if line.review}
    figures = {}
    for group in groups:
        labelled = {line_id for line_id, found in labelled_in.items() if group in found}
        sent = {line_id for line_id, found in sent_in.items() if group in found}
        figures[group] = Figures(len(labelled), len(sent), len(labelled & sent))
    return figures


def table(figures: Mapping[str, Figures], floors: tuple[float, float] = FLOORS) -> str:
    """One row per check or rule, with the floor it meets or misses."""
    rows = [f"{'':27} {'rule':5} {'labelled':>8} {'sent':>6} {'recall':>7} {'precision':>9}  floors"]
    for name, found in figures.items():
        rule = CHECKS[name].rule if name in CHECKS else name
        verdict = "ok" if found.meets(floors) else ("no labelled lines" if not found.labelled else "BELOW")
        rows.append(
            f"{name:27} {rule:5} {found.labelled:8d} {found.sent:6d} {found.recall:7.3f} "
            f"{found.precision:9.3f}  {verdict}"
        )
    return "\n".join(rows)


def labelled_signal_lines(
    labels: Mapping[str, Iterable[str]], scored: Iterable[ScoredLine], policy: AnomalyPolicy, prefix: str = ""
) -> list[LabelledLine]:
    """The lines the signal model decides on (signals fired, no violation), each with whether it is a real
    problem (labelled). ``prefix`` keeps line ids of several firms apart."""
    violations = set(policy.violations)
    return [
        LabelledLine(f"{prefix}{line.line_id}", dict(line.features), line.line_id in labels)
        for line in scored
        if line.features and not (line.checks & violations) and "invalid_line" not in line.checks
    ]


def fit_on_generator(
    seeds: Sequence[int] = TRAINING_SEEDS, policy: AnomalyPolicy | None = None, trained_at: date | None = None
) -> SignalModel:
    """The signal model fitted on the labelled generator's firms of ``seeds`` (the model shipped until reviewers'
    decisions take over)."""
    policy = policy or sample_policy()
    lines: list[LabelledLine] = []
    for seed in seeds:
        firm = sample_firm(seed, policy)
        lines += labelled_signal_lines(firm.labels, score_firm(firm, policy), policy, prefix=f"{seed}:")
    seeds_text = ", ".join(str(seed) for seed in seeds)
    return fit_signal_model(
        lines,
        trained_on=f"labelled generator, seeds {seeds_text}, {SAMPLE_WORKERS} workers, a quarter each",
        trained_at=trained_at or date.today(),
    )
