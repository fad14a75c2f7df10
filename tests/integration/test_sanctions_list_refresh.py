"""The sanctions list refresh in the local runtime: the scheduled function under its synthesized role, what the
screen records, refusals that keep the current list, and refreshes racing for the manifest.

Locally the source is the sample list shipped in the package (no network), read and stored by the same code as
OFAC's files in AWS; the runtime stores it at start as the first daily refresh would.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from backoffice.audit import AuditTrail
from backoffice.local.runtime import LocalRuntime
from backoffice.vendors.sanctions_lists import (
    ListFiles,
    PackagedSample,
    SanctionsListStore,
    refresh_sanctions_list,
)
from infra.catalog import Ref
from tests.integration.conftest import Firm
from tests.integration.test_vendor_workflow import request_vendor

SCHEDULE = {"source": "backoffice.local", "schedule": "sanctions_list_refresh"}


def store_of(runtime: LocalRuntime) -> SanctionsListStore:
    return SanctionsListStore(runtime.client("s3"), runtime.resolve(Ref("bucket_name", "sanctions_lists")))


def refresh_case(runtime: LocalRuntime) -> str:
    return f"sanctions-list-{datetime.now(UTC):%Y-%m}"


def audit(runtime: LocalRuntime) -> AuditTrail:
    return AuditTrail(runtime.resolve(Ref("table_name", "audit")), dynamodb=runtime.client("dynamodb"))


def test_the_scheduled_refresh_runs_under_its_role_and_is_audited(runtime: LocalRuntime) -> None:
    # Given the runtime stored the sample list at start
    before, _ = store_of(runtime).manifest()
    assert before is not None and before.entries > 0
    # When the schedule runs the refresh function (as EventBridge Scheduler would, under its synthesized role)
    result, error = runtime.lambdas.invoke("refresh_sanctions_list", SCHEDULE)
    # Then the source served the same list: unchanged, checked again, and the run is on the audit trail
    assert error is None, error
    assert result["outcome"] == "unchanged" and result["digest"] == before.digest
    after, _ = store_of(runtime).manifest()
    assert after is not None and after.checked_at > before.checked_at
    [record] = audit(runtime).records(refresh_case(runtime))
    assert (record.action, record.actor.id) == ("sanctions_list.unchanged", "refresh_sanctions_list")
    assert record.reasons[0] == "schedule sanctions_list_refresh"
    assert record.data["version"] == before.version and record.data["entries"] == before.entries


def test_a_list_that_does_not_read_is_refused_audited_and_the_screen_keeps_the_current_one(
    runtime: LocalRuntime, monkeypatch: pytest.MonkeyPatch
) -> None:
    current, _ = store_of(runtime).manifest()
    assert current is not None
    # Given the source answers with an error page instead of the SDN file
    served = PackagedSample().fetch()
    broken = ListFiles({**served.files, "sdn.csv": b"<html>Service Unavailable</html>"}, source=served.source)
    monkeypatch.setattr(PackagedSample, "fetch", lambda self: broken)
    # When the schedule runs
    result, error = runtime.lambdas.invoke("refresh_sanctions_list", SCHEDULE)
    # Then it is refused with the reason, audited, and the list in use is the one before
    assert error is None, error
    assert result["outcome"] == "refused" and result["digest"] == current.digest
    [record] = audit(runtime).records(refresh_case(runtime))
    assert record.action == "sanctions_list.refused"
    assert any("sdn.csv line 1" in reason for reason in record.reasons)
    assert store_of(runtime).load()[1].digest == current.digest


def test_the_vendor_assessment_names_the_list_version_it_screened_against(firm: Firm) -> None:
    _, manifest = store_of(firm.runtime).load()
    # When a vendor with a sanctions match is assessed
    case_id, _ = request_vendor(firm, "sanctions-hit")
    firm.settle(case_id)
    # Then the assessment on the trail says which list, retrieved when, it screened against
    [assessed] = [r for r in firm.records(case_id) if r.action == "vendor.assessed"]
    assert assessed.data["sanctions_list"] == manifest.version
    assert assessed.data["sanctions_list_digest"] == manifest.digest


class FetchedVersion:
    """One version of the list, as a refresh fetched it; every refresh of a trial is released at once."""

    def __init__(self, trial: int, n: int, released: threading.Barrier) -> None:
        sample = PackagedSample().fetch()
        extra = (
            f'\r\n{99000 + n},"TRIAL {trial} VERSION {n}",-0- ,"SDGT",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- '
        )
        sdn = sample.files["sdn.csv"].replace(b"\x1a", b"") + extra.encode()
        self.files = ListFiles({**sample.files, "sdn.csv": sdn}, source=f"trial {trial} version {n}")
        self.released = released

    def fetch(self) -> ListFiles:
        self.released.wait(timeout=120)
        return self.files


def race(
    store: SanctionsListStore, sources: list[FetchedVersion], fetched_at: list[datetime]
) -> dict[int, str]:
    results: dict[int, str] = {}

    def run(n: int) -> None:
        when = fetched_at[n]
        results[n] = refresh_sanctions_list(sources[n], store, now=lambda: when).outcome

    threads = [threading.Thread(target=run, args=(n,)) for n in range(len(sources))]
    for thread in threads:
        thread.start()
    for thread in threads:
        # Generous: on a loaded machine six strict reads of the list take a while; a thread still running here
        # would let the test read the manifest before the last write (seen once under a full `make test` with
        # three other jobs on the two cores), so it is asserted, not ignored.
        thread.join(timeout=300)
    assert not any(thread.is_alive() for thread in threads), "a refresh did not come back"
    return results


def test_refreshes_racing_for_the_manifest_leave_the_latest_fetch_current_every_time(
    runtime: LocalRuntime,
) -> None:
    store = store_of(runtime)
    base = datetime.now(UTC) + timedelta(minutes=1)
    writers = 6
    for trial in range(5):
        # Given six refreshes that each fetched a different version of the list, at known times, released at once
        released = threading.Barrier(writers)
        sources = [FetchedVersion(trial, n, released) for n in range(writers)]
        fetched_at = [base + timedelta(hours=trial, minutes=n) for n in range(writers)]
        # When they all write at once
        results = race(store, sources, fetched_at)
        # Then the list fetched last is current, whatever order the writes landed in, and its files match it
        listed, manifest = store.load()
        assert manifest.source == f"trial {trial} version {writers - 1}", results
        assert manifest.checked_at == fetched_at[-1]
        assert listed.digest == manifest.digest
        assert results[writers - 1] == "updated"
        assert set(results.values()) <= {"updated", "superseded"}
