"""Reconciliation findings across runs, on the local runtime's DynamoDB: the lifecycle, and its races.

Two runs of one period (a re-run while the first still runs) and reviews claiming one finding, at once: every
change is a conditional write on the finding's version (docs/concurrency.md), so the counts below are exact.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest

from backoffice.finance_close.findings import FindingStore
from backoffice.local.runtime import LocalRuntime
from infra.catalog import Ref
from tests.integration.test_sandbox_concurrency import at_once

START, END = date(2026, 10, 1), date(2026, 10, 31)


@pytest.fixture(scope="module")
def local() -> Iterator[LocalRuntime]:
    with LocalRuntime(retry_time_scale=0.001, api_port=None) as runtime:
        yield runtime


@pytest.fixture
def store(local: LocalRuntime) -> FindingStore:
    return FindingStore(local.resolve(Ref("table_name", "finance_close")), local.client("dynamodb"))


def finding(key: str, amount: str = "100.00") -> dict[str, str]:
    return {"key": key, "rule_id": key.split(":")[0], "amount_at_stake": amount}


def test_a_rerun_closes_what_no_longer_holds_keeps_what_does_and_reopens_what_came_back(
    store: FindingStore,
) -> None:
    start, end = date(2026, 1, 1), date(2026, 1, 31)
    # Given a first run that found three differences
    first = store.record_run(start, end, "run-1", [finding("RC1:a"), finding("RC2:b"), finding("RC5:c")])
    assert first.counts() == {"new": 3, "still_open": 0, "reopened": 0, "closed": 0}
    # When the same run's step is retried
    again = store.record_run(start, end, "run-1", [finding("RC1:a"), finding("RC2:b"), finding("RC5:c")])
    # Then nothing changes, and the counts are the first attempt's
    assert again.counts() == {"new": 3, "still_open": 0, "reopened": 0, "closed": 0}
    # When a re-run after fixes finds only one of them, with a new amount
    second = store.record_run(start, end, "run-2", [finding("RC2:b", "80.00")])
    # Then the two fixed ones are closed by that run and the third is still open with the new figure
    assert second.closed == ("RC1:a", "RC5:c") and second.still_open == ("RC2:b",)
    records = {r.key: r for r in store.findings(start, end)}
    assert records["RC1:a"].status == "closed" and records["RC1:a"].closed_by_case == "run-2"
    assert records["RC2:b"].finding["amount_at_stake"] == "80.00"
    # When a run with RC2 switched off finds nothing
    unchecked = store.record_run(start, end, "run-2b", [], rules_run=["RC1", "RC5"])
    # Then RC2's finding is neither closed nor confirmed
    assert unchecked.closed == () and store.get(start, end, "RC2:b").status == "open"  # type: ignore[union-attr]
    # When a third run finds one of the closed ones again
    third = store.record_run(start, end, "run-3", [finding("RC2:b", "80.00"), finding("RC1:a")])
    # Then it is reopened, and its history tells the whole story
    assert third.reopened == ("RC1:a",)
    assert store.get(start, end, "RC1:a").history == [  # type: ignore[union-attr]
        "run-1: found",
        "run-2: no longer holds: closed",
        "run-3: found again after it was closed",
    ]


def test_a_review_settles_or_reopens_and_a_stale_decision_changes_nothing(store: FindingStore) -> None:
    start, end = date(2026, 2, 1), date(2026, 2, 28)
    store.record_run(start, end, "run-1", [finding("RC3:x"), finding("RC4:y"), finding("RC6:z")])
    for key in ("RC3:x", "RC4:y", "RC6:z"):
        assert store.claim_for_review(start, end, key, "run-1")
    # When one is written off, one is to be fixed in the ERP and one is rejected
    settled, applied = store.settle(start, end, "RC3:x", "run-1", outcome="approved", resolution="write_off")
    fixing, _ = store.settle(start, end, "RC4:y", "run-1", outcome="approved", resolution="fix_in_erp")
    rejected, _ = store.settle(
        start, end, "RC6:z", "run-1", outcome="rejected", resolution=None, comments=["no"]
    )
    # Then each lands where its decision puts it
    assert (settled.status, fixing.status, rejected.status) == ("settled", "awaiting_fix", "open")  # type: ignore[union-attr]
    # And a decision arriving again (a retried step), or from a run that no longer holds the review, changes nothing
    late, late_applied = store.settle(
        start, end, "RC3:x", "run-9", outcome="approved", resolution="acknowledge"
    )
    assert late is not None and (late.status, late.resolution) == ("settled", "write_off")
    assert applied and not late_applied
    # And a settled finding is not sent for review again; the rejected one may be
    assert not store.claim_for_review(start, end, "RC3:x", "run-2")
    assert store.claim_for_review(start, end, "RC6:z", "run-2")
    # And an approval without a resolution is refused outright
    with pytest.raises(ValueError, match="needs a resolution"):
        store.settle(start, end, "RC6:z", "run-2", outcome="approved", resolution=None)


def test_runs_of_one_period_at_once_store_each_finding_once(store: FindingStore) -> None:
    start, end = date(2026, 3, 1), date(2026, 3, 31)
    findings = [finding(f"RC{1 + i % 8}:{i}") for i in range(20)]
    # When six runs of the period record the same twenty findings at once
    answers = at_once(
        [lambda case=f"run-{n}": store.record_run(start, end, case, findings) for n in range(6)]
    )
    # Then no call failed, each finding was new to exactly one run, and is stored once, open, found once
    assert not [a for a in answers if isinstance(a, Exception)]
    assert sum(len(a.new) for a in answers) == 20  # type: ignore[union-attr]
    records = store.findings(start, end)
    assert len(records) == 20 and {r.status for r in records} == {"open"}
    assert all(sum(h.endswith(": found") for h in r.history) == 1 for r in records)


def test_an_older_run_never_closes_what_a_newer_run_found(store: FindingStore) -> None:
    start, end = date(2026, 5, 1), date(2026, 5, 31)
    # Given a run that read the systems at 10:00 found one difference, and one that read at 10:05 another
    store.record_run(start, end, "run-a", [finding("RC1:a")], read_at="2026-06-01T10:00:00+00:00")
    store.record_run(start, end, "run-b", [finding("RC1:b")], read_at="2026-06-01T10:05:00+00:00")
    # Then run-b closed run-a's (it read later and no longer saw it)
    assert store.get(start, end, "RC1:a").status == "closed"  # type: ignore[union-attr]
    # When the older run's compare is retried late (it saw only its own)
    late = store.record_run(start, end, "run-a", [finding("RC1:a")], read_at="2026-06-01T10:00:00+00:00")
    # Then it neither closes the newer run's finding nor reopens its own over the newer reading
    assert late.closed == () and store.get(start, end, "RC1:b").status == "open"  # type: ignore[union-attr]
    assert store.get(start, end, "RC1:a").status == "closed"  # type: ignore[union-attr]


def test_a_run_that_ends_opens_again_what_it_still_holds_in_review(store: FindingStore) -> None:
    start, end = date(2026, 6, 1), date(2026, 6, 30)
    store.record_run(start, end, "run-1", [finding("RC4:q"), finding("RC4:r")])
    assert store.claim_for_review(start, end, "RC4:q", "run-1")
    assert store.claim_for_review(start, end, "RC4:r", "run-1")
    store.settle(start, end, "RC4:r", "run-1", outcome="approved", resolution="acknowledge")
    # When the run ends with RC4:q's review failed
    released = store.release_run(start, end, "run-1", "the run failed")
    # Then only the finding still in review is open again, for the next run to ask
    assert released == ["RC4:q"]
    assert store.get(start, end, "RC4:q").status == "open"  # type: ignore[union-attr]
    assert store.get(start, end, "RC4:r").status == "settled"  # type: ignore[union-attr]
    assert store.claim_for_review(start, end, "RC4:q", "run-2")


def test_reviews_claiming_one_finding_at_once_send_it_once(store: FindingStore) -> None:
    start, end = date(2026, 4, 1), date(2026, 4, 30)
    store.record_run(start, end, "run-1", [finding("RC7:p")])
    # When eight runs try to send the same finding for review at once
    answers = at_once(
        [lambda case=f"run-{n}": store.claim_for_review(start, end, "RC7:p", case) for n in range(8)]
    )
    # Then exactly one holds the review
    assert answers.count(True) == 1 and answers.count(False) == 7
    record = store.get(start, end, "RC7:p")
    assert record is not None and record.status == "in_review"
    assert record.review_case == f"run-{answers.index(True)}"
