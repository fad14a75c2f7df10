"""Benchmark: anomaly scoring of a million time and expense lines on one core.

Generates the sample firm (``backoffice.anomaly.generator``) until it has at least 1,000,000 period lines,
builds the history of the month before, then times ``score_rows`` on exactly 1,000,000 lines (time and
expense in the firm's proportions). Generation and history are timed apart: the figure that matters is
lines scored per second. Peak memory is the process's maximum resident set size, which includes the
generated rows; tracemalloc is not used because it slows allocation-heavy code several times over. Wall and CPU time are
both reported, with the load average, since a shared machine's other work shows in the wall time.

The same lines are then scored as the invoicing workflow's "Score every line" Lambda scores a period: from
its lines file (``billing/<case>/lines.json``, written by "Open billing period"), which holds the lines a
list per field in the models' JSON spelling (dates and timestamps as ISO text) with hours and amounts as
numbers, the fields the rules group by coded (``rows.coded_lists``: distinct values and a code per line, as
"Open billing period" writes them). The file is made from the rows and encoded (not timed, ``lines_file_build_seconds_not_timed``); its
decoding is timed apart (``lines_file_decode_seconds``: ``json.loads``, the Lambda's cost before it
scores); the headline figure, ``columns_*`` (the median of three runs), is everything from the decoded lists to the ``ScoredLine``
results as the Lambda keeps them: since #18 item 4 (2026-12-07) ``flagged_in_field_lists``
(``time_columns_of`` and ``expense_columns_of``: validation, dates, floats, currency conversion; then
``flagged_in_columns``), which makes a ``ScoredLine`` for the flagged lines only (every other line scores 0
with no reason); with an older scorer on ``PYTHONPATH`` (a before/after in one session), ``score_field_lists``,
the Lambda's path then. ``all_lines_*``: ``score_field_lists`` on the same file, a ``ScoredLine`` per line.
Every result is compared line by line with ``score_rows``'s (not timed; the flagged-only one expanded to
every line), and ``scored_lines_sha256`` hashes ``score_rows``'s million ``ScoredLine``s (their ``repr``):
equal hashes from two versions of the scorer, equal output. ``plain_lists_*``: ``score_field_lists`` on the
file without codes (every field a list of values, as files were written before 2026-12-07), to show what the
codes save; checked equal too.

The baseline, timed on the same decoded lists right after (median of ``REPEATS`` runs): a naive pandas robust
z-score (``pandas_robust_z``): a data frame of each kind's lines, the median and MAD of hours per worker and of
amounts per worker and expense type (``groupby().transform``), the modified z-score of every line and the lines
above 3.5. One statistic of the eleven checks, no reasons, no history: what a vectorized kernel costs per line
on this machine. ``columns_to_pandas_ratio`` is the scorer's lines per CPU-second over the baseline's. The
baseline reads the lines file without codes (as in the earlier runs); ``pandas_on_codes_*`` times it again
grouping by the coded file's codes (integers) instead of the worker and type text.

A third, smaller figure scores canonical models through ``score_lines`` (per-field lists read off the
models on the way in, then the columnar path), the path a handler takes when it has models rather than rows.

Run alone with ``python -m bench.anomaly`` or through ``python -m bench``; ``BENCH_ANOMALY_LINES=200000`` scores
a smaller firm while iterating (the figures in docs/benchmarks.md are of a million lines).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import platform
import resource
import statistics
import sys
import time
from datetime import date, datetime
from typing import Any

from backoffice.anomaly import coded_lists, score_field_lists, score_lines, score_rows
from backoffice.anomaly.generator import expense_entry_of, generate_sample_firm, time_entry_of
from backoffice.anomaly.rows import EXPENSE_AMOUNTS

try:  # absent from the code before 2026-12-07 (#18 item 4), which this bench also times for a before/after
    from backoffice.anomaly import flagged_in_field_lists
except ImportError:  # pragma: no cover - only with an older scorer on PYTHONPATH
    flagged_in_field_lists = None

# BENCH_ANOMALY_LINES: a smaller firm while iterating (the figures in docs/benchmarks.md are of 1,000,000).
LINES = int(os.environ.get("BENCH_ANOMALY_LINES", "1000000"))
MODEL_LINES = 50_000
REPEATS = 3  # runs of the headline section; the median is reported
LINES_PER_WORKER = 180  # about a quarter's lines for one person in the sample firm


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _machine_seconds() -> float:
    """CPU-seconds for ``sum(range(10**7))``, best of five: how fast this machine runs plain Python right
    now. A shared or virtual machine's speed drifts from hour to hour; figures of two runs compare only
    alongside this."""
    best = math.inf
    for _ in range(5):
        started = time.process_time()
        sum(range(10**7))
        best = min(best, time.process_time() - started)
    return best


def _peak_rss_mib() -> float:
    # ru_maxrss is in KiB on Linux, bytes on macOS.
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def json_spelled(lists: dict[str, list[Any]]) -> dict[str, list[Any]]:
    """The lists as the period's lines file holds them (``rows.time_json_lists``/``expense_json_lists`` of
    the models' JSON): dates and timestamps as ISO text, hours and amounts as numbers (amounts to the cent,
    as ``generator.expense_entry_of`` keeps them)."""

    def spelled(name: str, value: Any) -> Any:
        if value is None or isinstance(value, (str, int)):
            return value
        if isinstance(value, (date, datetime)):
            return value.isoformat()
        if isinstance(value, float):
            return float(f"{value:.2f}") if name in EXPENSE_AMOUNTS else value
        return value

    return {name: [spelled(name, value) for value in values] for name, values in lists.items()}


def _grouped_by(lists: dict[str, Any], name: str) -> list[Any]:
    """The column to group by: a coded column's codes, else its values."""
    column = lists[name]
    return column["codes"] if type(column) is dict else column


def pandas_robust_z(time_lists: dict[str, Any], expense_lists: dict[str, Any]) -> int:
    """The naive baseline: lines whose modified z-score (0.6745 (x - median) / MAD, Iglewicz and Hoaglin)
    within their group is above 3.5; hours per worker, amounts per worker and expense type."""
    import pandas as pd

    def robust_z(frame: Any, value: str, by: list[str]) -> Any:
        grouped = frame.groupby(by, sort=False)[value]
        median = grouped.transform("median")
        deviation = (frame[value] - median).abs()
        mad = deviation.groupby([frame[name] for name in by], sort=False).transform("median")
        return 0.6745 * (frame[value] - median) / mad.where(mad > 0)

    times = pd.DataFrame({"worker_id": _grouped_by(time_lists, "worker_id"), "hours": time_lists["hours"]})
    expenses = pd.DataFrame(
        {
            "worker_id": _grouped_by(expense_lists, "worker_id"),
            "expense_type": _grouped_by(expense_lists, "expense_type"),
            "amount": expense_lists["amount"],
        }
    )
    flagged = (robust_z(times, "hours", ["worker_id"]).abs() > 3.5).sum()
    flagged += (robust_z(expenses, "amount", ["worker_id", "expense_type"]).abs() > 3.5).sum()
    return int(flagged)


def scored_sha256(scored: list[Any]) -> str:
    """SHA-256 of the ``repr`` of every ``ScoredLine`` (ids, scores, reasons, review, features), in order:
    two runs that give it alike gave the same output, line for line."""
    digest = hashlib.sha256()
    for start in range(0, len(scored), 10_000):
        digest.update(repr(scored[start : start + 10_000]).encode())
    return digest.hexdigest()


def _plain_lists_runs(
    lines_file: dict[str, Any], history: Any, firm: Any, scored: list[Any]
) -> tuple[list[float], bool]:
    """CPU-seconds of ``REPEATS`` runs of ``score_field_lists`` on the lines file without codes, and whether
    each gave the rows' scores."""
    cpu: list[float] = []
    same = True
    for _ in range(REPEATS):
        cpu_started = time.process_time()
        found = score_field_lists(
            lines_file["time"], lines_file["expenses"], history, firm.policy, workers=firm.workers
        )
        cpu.append(time.process_time() - cpu_started)
        same = same and found == scored
        del found
    return cpu, same


def _pandas_runs(lines_file: dict[str, Any]) -> tuple[list[float], int]:
    """CPU-seconds of ``REPEATS`` runs of the baseline on the decoded file, and the lines it flagged."""
    cpu: list[float] = []
    flagged = 0
    for _ in range(REPEATS):
        cpu_started = time.process_time()
        flagged = pandas_robust_z(lines_file["time"], lines_file["expenses"])
        cpu.append(time.process_time() - cpu_started)
    return cpu, flagged


def run() -> dict[str, Any]:
    started = time.perf_counter()
    workers = LINES * 105 // (100 * LINES_PER_WORKER)
    firm = generate_sample_firm(
        seed=2026,
        n_workers=workers,
        period_start=date(2026, 10, 1),
        period_end=date(2026, 12, 31),
        history_days=31,
    )
    while firm.line_count < LINES:
        workers = int(workers * 1.1 * LINES / firm.line_count)
        firm = generate_sample_firm(seed=2026, n_workers=workers, history_days=31)
    generated = time.perf_counter() - started

    share = len(firm.time_rows) / firm.line_count
    n_time = round(LINES * share)
    time_rows, expense_rows = firm.time_rows[:n_time], firm.expense_rows[: LINES - n_time]
    roles = firm.worker_roles()

    started = time.perf_counter()
    history = firm.history()
    history_seconds = time.perf_counter() - started

    load_before = os.getloadavg()[0]
    machine_seconds = _machine_seconds()
    started, cpu_started = time.perf_counter(), time.process_time()
    scored = score_rows(time_rows, expense_rows, history, firm.policy, worker_roles=roles)
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
    flagged = sum(1 for line in scored if line.score > 0)

    # The Lambda's path: the period's lines file (a list per field, JSON spelling). Building and encoding
    # it is set-up, not timed; decoding is timed apart; the headline section starts at the decoded lists.
    plain = {
        "time": json_spelled(firm.time_lists(n_time)),
        "expenses": json_spelled(firm.expense_lists(LINES - n_time)),
    }
    plain_encoded = json.dumps(plain).encode()
    started = time.perf_counter()
    plain_file = json.loads(plain_encoded)
    plain_decode_seconds = time.perf_counter() - started
    plain_mib = len(plain_encoded) / 2**20
    del plain_encoded
    plain_runs, same_as_rows = _plain_lists_runs(plain_file, history, firm, scored)
    # The baseline on the same decoded lists, as in the earlier runs. Imported before the timing: the
    # baseline's figure is its work, not its import.
    import pandas as pd  # noqa: F401

    baseline_cpu, baseline_flagged = _pandas_runs(plain_file)
    del plain_file
    started = time.perf_counter()
    encoded = json.dumps({kind: coded_lists(lists) for kind, lists in plain.items()}).encode()
    build_seconds = time.perf_counter() - started
    del plain
    started = time.perf_counter()
    lines_file = json.loads(encoded)
    decode_seconds = time.perf_counter() - started
    file_mib = len(encoded) / 2**20
    del encoded
    # Scored REPEATS times over the same decoded lists (each run builds its own columns and results); the
    # median run is the figure, all runs are reported.
    runs: list[tuple[float, float]] = []
    all_lines_cpu: list[float] = []
    for _ in range(REPEATS):
        started, cpu_started = time.perf_counter(), time.process_time()
        scored_by_columns = score_field_lists(
            lines_file["time"], lines_file["expenses"], history, firm.policy, workers=firm.workers
        )
        all_lines_cpu.append(time.process_time() - cpu_started)
        if flagged_in_field_lists is None:
            runs.append((time.perf_counter() - started, all_lines_cpu[-1]))
        same_as_rows = same_as_rows and scored_by_columns == scored
        del scored_by_columns
    # The Lambda's path since #18 item 4: the flagged lines only (``flagged_in_field_lists``), the others
    # known to score 0; expanded to every line (not timed) and compared with the rows' scores.
    flagged_by_lambda = 0
    if flagged_in_field_lists is not None:
        for _ in range(REPEATS):
            started, cpu_started = time.perf_counter(), time.process_time()
            found = flagged_in_field_lists(
                lines_file["time"], lines_file["expenses"], history, firm.policy, workers=firm.workers
            )
            runs.append((time.perf_counter() - started, time.process_time() - cpu_started))
            flagged_by_lambda = len(found.flagged())
            same_as_rows = same_as_rows and found.all_lines() == scored
            del found
    on_codes_cpu, on_codes_flagged = _pandas_runs(lines_file)
    del lines_file
    pandas_cpu = statistics.median(baseline_cpu)
    columns_seconds = statistics.median(wall for wall, _ in runs)
    columns_cpu = statistics.median(cpu for _, cpu in runs)

    # The model path, on a slice: model to row conversion included.
    small_time = [time_entry_of(row) for row in time_rows[: MODEL_LINES // 2]]
    small_expenses = [expense_entry_of(row) for row in expense_rows[: MODEL_LINES // 2]]
    facts = firm.line_facts()
    started = time.perf_counter()
    score_lines(small_time, small_expenses, history, firm.policy, workers=firm.workers, line_facts=facts)
    model_seconds = time.perf_counter() - started

    return {
        "benchmark": "anomaly scoring (score_rows and score_columns, one core)",
        "lines": len(scored),
        "time_lines": len(time_rows),
        "expense_lines": len(expense_rows),
        "history_lines": history.lines,
        "workers": workers,
        "flagged_lines": flagged,
        "seconds": round(seconds, 3),
        "lines_per_second": round(len(scored) / seconds),
        # CPU time of this process: the fairer figure on a machine shared with other work.
        "cpu_seconds": round(cpu_seconds, 3),
        "lines_per_cpu_second": round(len(scored) / cpu_seconds),
        "load_average_before": round(load_before, 2),
        "columns_timed": (
            "score_field_lists: the decoded lines file (a list per field) to ScoredLines"
            if flagged_in_field_lists is None
            else "flagged_in_field_lists: the decoded lines file to the flagged lines' ScoredLines"
        ),
        "columns_seconds": round(columns_seconds, 3),
        "columns_lines_per_second": round(len(scored) / columns_seconds),
        "columns_cpu_seconds": round(columns_cpu, 3),
        "columns_lines_per_cpu_second": round(len(scored) / columns_cpu),
        "columns_runs_lines_per_cpu_second": [round(len(scored) / cpu) for _, cpu in runs],
        "columns_same_scores_as_rows": same_as_rows,
        "columns_flagged_lines": flagged_by_lambda,
        "all_lines_lines_per_cpu_second": round(len(scored) / statistics.median(all_lines_cpu)),
        "all_lines_runs_lines_per_cpu_second": [round(len(scored) / cpu) for cpu in all_lines_cpu],
        "scored_lines_sha256": scored_sha256(scored),
        "plain_lists_lines_per_cpu_second": round(len(scored) / statistics.median(plain_runs)),
        "plain_lists_runs_lines_per_cpu_second": [round(len(scored) / cpu) for cpu in plain_runs],
        # The same function (score_field_lists) on the file with and without codes.
        "codes_to_plain_lists_ratio": round(
            statistics.median(plain_runs) / statistics.median(all_lines_cpu), 3
        ),
        "flagged_only_to_all_lines_ratio": round(statistics.median(all_lines_cpu) / columns_cpu, 3),
        "pandas_robust_z_lines_per_cpu_second": round(len(scored) / pandas_cpu),
        "pandas_robust_z_runs_lines_per_cpu_second": [round(len(scored) / cpu) for cpu in baseline_cpu],
        "pandas_robust_z_flagged_lines": baseline_flagged,
        "columns_to_pandas_ratio": round(pandas_cpu / columns_cpu, 3),
        "pandas_on_codes_lines_per_cpu_second": round(len(scored) / statistics.median(on_codes_cpu)),
        "pandas_on_codes_flagged_lines": on_codes_flagged,
        "columns_to_pandas_on_codes_ratio": round(statistics.median(on_codes_cpu) / columns_cpu, 3),
        "lines_file_mib": round(file_mib, 1),
        "lines_file_decode_seconds": round(decode_seconds, 3),
        "plain_lines_file_mib": round(plain_mib, 1),
        "plain_lines_file_decode_seconds": round(plain_decode_seconds, 3),
        "lines_file_build_seconds_not_timed": round(build_seconds, 3),
        "history_build_seconds": round(history_seconds, 3),
        "generate_seconds": round(generated, 3),
        "model_path_lines": MODEL_LINES,
        "model_path_lines_per_second": round(MODEL_LINES / model_seconds),
        "peak_rss_mib": round(_peak_rss_mib(), 1),
        "sum_range_1e7_cpu_seconds": round(machine_seconds, 3),
        "python": platform.python_version(),
        "cpu": _cpu_model(),
        "cpus": os.cpu_count(),
    }


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
