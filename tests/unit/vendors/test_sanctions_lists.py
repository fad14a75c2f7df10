"""The sanctions list refresh: OFAC's real format read strictly, refusals that keep the current list, versions.

The files are real OFAC rows (tests/fixtures/sanctions, byte for byte); the store is moto's S3 in-process.
"""

from __future__ import annotations

import argparse
import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws
from pydantic import ValidationError

from backoffice.cli.sanctions import cmd_refresh
from backoffice.vendors.sanctions import screen
from backoffice.vendors.sanctions_lists import (
    LIST_FILES,
    MANIFEST_KEY,
    ListFiles,
    OfacDownload,
    PackagedSample,
    SanctionsListMissing,
    SanctionsListStore,
    SanctionsListUnavailable,
    SanctionsListUnreadable,
    SanctionsSources,
    read_list_strictly,
    refresh_sanctions_list,
)
from infra.catalog import Ref
from tests.fixture_files import FIXTURES, required

REAL_ROWS = FIXTURES / "sanctions"
BUCKET = "sanctions-lists"
T0 = datetime(2026, 12, 1, 5, 0, tzinfo=UTC)


def real_files() -> ListFiles:
    folder = required(REAL_ROWS)
    return ListFiles({name: required(folder / name).read_bytes() for name in LIST_FILES}, source="fixture")


def with_sdn(files: ListFiles, sdn: bytes) -> ListFiles:
    return ListFiles({**files.files, "sdn.csv": sdn}, source=files.source)


class Served:
    """A source that serves what the test says, or fails as an unreachable OFAC would."""

    def __init__(self, files: ListFiles | None) -> None:
        self.files = files

    def fetch(self) -> ListFiles:
        if self.files is None:
            raise SanctionsListUnavailable("sdn.csv: connection refused")
        return self.files


@pytest.fixture
def store() -> Iterator[SanctionsListStore]:
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket=BUCKET)
        s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        yield SanctionsListStore(s3, BUCKET)


def at(moment: datetime) -> Any:
    return lambda: moment


# -- reading OFAC's format strictly -----------------------------------------------------------------------------


def test_real_ofac_rows_read_completely_with_aliases_addresses_and_programs() -> None:
    # Given 30 real entries with every alias and address row OFAC published for them
    listed = read_list_strictly(real_files())
    # Then every entry, alias and address is there, with OFAC's multi-program field split
    assert len(listed) == 30
    assert sum(len(e.aliases) for e in listed.entries.values()) == 48
    assert sum(len(e.addresses) for e in listed.entries.values()) == 135
    assert listed.entries[4632].programs == ["IRAN", "SDGT", "IRGC", "IFSR"]
    assert {a.alt_type for e in listed.entries.values() for a in e.aliases} == {"aka", "fka", "nka"}
    vessel = listed.entries[4234]
    assert (vessel.sdn_type, vessel.call_sign, vessel.vessel_flag) == ("vessel", "CL2685", "Cuba")
    # And an individual listed "LAST, First" is found by an alias in reading order
    assert screen("Ayman al-Zawahiri", sanctions_list=listed).decision == "review"
    assert listed.digest == real_files().digest


def test_a_cut_off_row_is_refused_naming_the_file_and_line() -> None:
    # Given the SDN file cut off in the middle of its third row (a download that stopped)
    files = real_files()
    rows = files.files["sdn.csv"].split(b"\r\n")
    cut = b"\r\n".join([*rows[:2], rows[2][:40]])
    # When read strictly
    with pytest.raises(SanctionsListUnreadable) as refused:
        read_list_strictly(with_sdn(files, cut))
    # Then the refusal says where
    assert any(p.startswith("sdn.csv line 3:") for p in refused.value.problems)


def test_an_error_page_instead_of_the_list_is_refused() -> None:
    files = with_sdn(real_files(), b"<html><body>Service Unavailable</body></html>\r\n")
    with pytest.raises(SanctionsListUnreadable) as refused:
        read_list_strictly(files)
    # The page is not rows of the list, and the aliases and addresses now belong to entries it does not have
    problems = " | ".join(refused.value.problems)
    assert "sdn.csv line 1" in problems and "sdn.csv: no entries" in problems


def test_aliases_of_entries_the_list_does_not_have_are_refused() -> None:
    # Given an SDN file that lost its last entries but aliases and addresses that still name them
    files = real_files()
    rows = [r for r in files.files["sdn.csv"].split(b"\r\n") if r[:1].isdigit()]
    with pytest.raises(SanctionsListUnreadable) as refused:
        read_list_strictly(with_sdn(files, b"\r\n".join(rows[:-5]) + b"\r\n\x1a"))
    assert any(
        p.startswith("alt.csv: rows for") or p.startswith("add.csv: rows for") for p in refused.value.problems
    )


def test_sources_must_be_three_https_files() -> None:
    with pytest.raises(ValidationError, match=r"alt\.csv, add\.csv missing"):
        SanctionsSources(urls={"sdn.csv": "https://mirror.example/sdn.csv"})
    with pytest.raises(ValidationError, match="is not https"):
        SanctionsSources(urls={name: f"http://mirror.example/{name}" for name in LIST_FILES})
    assert SanctionsSources().urls["sdn.csv"].startswith("https://sanctionslistservice.ofac.treas.gov/")


# -- a refresh --------------------------------------------------------------------------------------------------


def test_the_first_refresh_stores_the_list_and_the_screen_reads_that_version(
    store: SanctionsListStore,
) -> None:
    # Given no list stored yet: the screen refuses rather than clear anyone
    with pytest.raises(SanctionsListMissing):
        store.load()
    # When the first refresh runs
    result = refresh_sanctions_list(Served(real_files()), store, now=at(T0))
    # Then the list is current, its files are content-addressed, and the screen reads exactly it
    assert result.outcome == "updated" and result.entries == 30 and result.age_days == 0
    listed, manifest = store.load()
    assert listed.digest == manifest.digest == real_files().digest
    assert manifest.keys["sdn.csv"] == f"sdn/{manifest.digest}/sdn.csv"
    assert listed.version == manifest.version == result.version
    assert manifest.version.startswith(f"OFAC SDN sha256:{manifest.digest[:12]} retrieved 2026-12-01 05:00")


def test_an_unchanged_list_moves_only_its_checked_time(store: SanctionsListStore) -> None:
    refresh_sanctions_list(Served(real_files()), store, now=at(T0))
    # When the source serves the same files a day later
    result = refresh_sanctions_list(Served(real_files()), store, now=at(T0 + timedelta(days=1)))
    # Then nothing new is stored; the list counts as checked today, retrieved on the first day
    manifest, _ = store.manifest()
    assert manifest is not None
    assert result.outcome == "unchanged"
    assert (manifest.retrieved_at, manifest.checked_at) == (T0, T0 + timedelta(days=1))


def test_a_new_version_replaces_the_current_and_the_old_one_stays_retrievable(
    store: SanctionsListStore,
) -> None:
    refresh_sanctions_list(Served(real_files()), store, now=at(T0))
    first, _ = store.manifest()
    # Given OFAC removed one entry (with its aliases and addresses)
    files = real_files()
    gone = b"306,"
    newer = ListFiles(
        {
            name: b"\r\n".join(r for r in data.split(b"\r\n") if not r.startswith(gone))
            for name, data in files.files.items()
        },
        source="fixture",
    )
    # When refreshed
    result = refresh_sanctions_list(Served(newer), store, now=at(T0 + timedelta(days=1)))
    # Then the new version is current, the previous named, and the bucket keeps both manifests
    assert first is not None
    assert result.outcome == "updated" and result.entries == 29 and result.previous_digest == first.digest
    versions = store.s3.list_object_versions(Bucket=BUCKET, Prefix=MANIFEST_KEY)["Versions"]
    assert len(versions) == 2
    assert store.s3.head_object(Bucket=BUCKET, Key=first.keys["sdn.csv"])["ContentLength"] > 0


def test_an_unreadable_list_is_refused_and_the_current_one_kept(store: SanctionsListStore) -> None:
    refresh_sanctions_list(Served(real_files()), store, now=at(T0))
    broken = with_sdn(real_files(), b"<html>maintenance</html>")
    # When the source serves an error page a week later
    result = refresh_sanctions_list(Served(broken), store, now=at(T0 + timedelta(days=7)))
    # Then it is refused with the reasons, and the screen still uses the list it had, now 7 days old
    assert result.outcome == "refused"
    assert any("sdn.csv" in reason for reason in result.reasons)
    assert result.digest == real_files().digest and result.age_days == 7
    assert store.load()[1].digest == real_files().digest


def test_a_list_that_shrank_by_more_than_the_policy_allows_is_refused(store: SanctionsListStore) -> None:
    refresh_sanctions_list(Served(real_files()), store, now=at(T0))
    # Given a list that reads but has lost 10 of 30 entries at once
    files = real_files()
    kept = [r for r in files.files["sdn.csv"].split(b"\r\n") if r[:1].isdigit()][:20]
    numbers = {r.split(b",", 1)[0] for r in kept}
    smaller = ListFiles(
        {
            "sdn.csv": b"\r\n".join(kept),
            **{
                name: b"\r\n".join(
                    r for r in files.files[name].split(b"\r\n") if r.split(b",", 1)[0] in numbers
                )
                for name in ("alt.csv", "add.csv")
            },
        },
        source="fixture",
    )
    # Then the default policy (at most a quarter fewer) refuses it, and a looser one takes it
    refused = refresh_sanctions_list(Served(smaller), store, now=at(T0 + timedelta(days=1)))
    assert refused.outcome == "refused" and "10 fewer than the current 30" in refused.reasons[0]
    taken = refresh_sanctions_list(Served(smaller), store, now=at(T0 + timedelta(days=1)), max_shrink=0.5)
    assert taken.outcome == "updated" and taken.entries == 20


def test_an_unreachable_source_keeps_the_list_and_reports_its_age(store: SanctionsListStore) -> None:
    refresh_sanctions_list(Served(real_files()), store, now=at(T0))
    result = refresh_sanctions_list(Served(None), store, now=at(T0 + timedelta(days=9)))
    assert result.outcome == "unavailable" and result.age_days == 9
    assert "connection refused" in result.reasons[0]


def test_no_list_at_all_and_an_unreachable_source_says_screening_stops(store: SanctionsListStore) -> None:
    result = refresh_sanctions_list(Served(None), store, now=at(T0))
    assert result.outcome == "unavailable" and result.digest is None and result.age_days is None
    assert "screening stops" in result.reasons[-1]


def test_a_refresh_that_fetched_earlier_never_overwrites_one_that_fetched_later(
    store: SanctionsListStore,
) -> None:
    # Given a refresh that fetched the sample at 06:00 stored it
    refresh_sanctions_list(PackagedSample(), store, now=at(T0 + timedelta(hours=1)))
    # When a slower refresh that fetched the real rows at 05:00 comes to write
    result = refresh_sanctions_list(Served(real_files()), store, now=at(T0))
    # Then it stands down: the later fetch stays current
    assert result.outcome == "superseded"
    assert store.load()[1].digest == PackagedSample().fetch().digest


# -- OFAC's download ---------------------------------------------------------------------------------------------


class Answer:
    def __init__(self, status: int, body: bytes = b"", location: str | None = None) -> None:
        self.status, self.body, self.location = status, body, location

    def header(self, name: str) -> str | None:
        return self.location if name == "location" else None


class ScriptedHttp:
    """Answers by URL, as OFAC's list service does: each export redirects to its file in storage."""

    def __init__(self, answers: dict[str, Answer]) -> None:
        self.answers, self.asked = answers, []

    def request(self, method: str, url: str, *, operation: str) -> Answer:
        self.asked.append(url)
        return self.answers[url]


def test_the_download_follows_the_services_redirect_to_each_file() -> None:
    files = real_files()
    answers: dict[str, Answer] = {}
    for name, url in SanctionsSources().urls.items():
        answers[url] = Answer(302, location=f"https://storage.example/{name}?signature=x")
        answers[f"https://storage.example/{name}?signature=x"] = Answer(200, files.files[name])
    fetched = OfacDownload(SanctionsSources().urls, http=ScriptedHttp(answers)).fetch()
    assert fetched.digest == files.digest
    assert "sanctionslistservice.ofac.treas.gov" in fetched.source and "signature" not in fetched.source


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        (Answer(503), "HTTP 503"),
        (Answer(302, location="http://storage.example/sdn.csv"), "non-https"),
    ],
)
def test_a_download_that_fails_says_why_and_is_not_a_list(answer: Answer, reason: str) -> None:
    urls = SanctionsSources().urls
    with pytest.raises(SanctionsListUnavailable, match=reason):
        OfacDownload(urls, http=ScriptedHttp(dict.fromkeys(urls.values(), answer))).fetch()


# -- the operator's command on a deployed stack ------------------------------------------------------------------


class InvokedLambda:
    def __init__(self, answer: dict[str, Any]) -> None:
        self.answer, self.calls = answer, []

    def invoke(self, **call: Any) -> dict[str, Any]:
        self.calls.append(call)
        return {"Payload": io.BytesIO(json.dumps(self.answer).encode())}


class DeployedStack:
    deployed = True

    def __init__(self, function: InvokedLambda) -> None:
        self.function = function

    def client(self, service: str, config: Any = None) -> Any:
        assert service == "lambda"
        # The function may run 300 s: the client waits that long and never re-invokes on a timeout
        assert config is not None and config.read_timeout > 300 and config.retries == {"max_attempts": 0}
        return self.function

    def resolve(self, ref: Ref) -> str:
        assert ref == Ref("function_arn", "refresh_sanctions_list")
        return "arn:aws:lambda:eu-west-1:111122223333:function:BackofficeStack-RefreshSanctionsList"


def test_refresh_on_a_deployed_stack_invokes_the_function_its_outputs_name_as_the_operator(
    capsys: pytest.CaptureFixture[str],
) -> None:
    function = InvokedLambda(
        {"outcome": "refused", "reasons": ["sdn.csv line 1: ..."], "version": "OFAC SDN x"}
    )
    args = argparse.Namespace(as_email="ops@firm.example")
    # When the operator refreshes and the function refuses what it fetched
    code = cmd_refresh(args, DeployedStack(function))
    # Then the function named by the stack's output ran with who asked, and the command says it failed
    [call] = function.calls
    assert call["FunctionName"].endswith(":function:BackofficeStack-RefreshSanctionsList")
    assert json.loads(call["Payload"]) == {"requested_by": "ops@firm.example"}
    assert code == 1 and capsys.readouterr().out.startswith("refused: sdn.csv line 1")
