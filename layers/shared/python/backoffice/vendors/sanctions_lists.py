"""Keeping the sanctions list current: OFAC's published files fetched on a schedule, checked, stored, versioned.

A refresh (``refresh_sanctions_list``, run daily by ``functions/refresh_sanctions_list``) fetches the three files of
OFAC's legacy CSV distribution (``sdn.csv``, ``alt.csv``, ``add.csv``), reads them strictly with the screen's own
parser and keeps them in the sanctions-lists bucket:

- the files under ``sdn/<sha256>/`` (content-addressed: a version once stored never changes), and
- ``sdn/current.json``, the manifest the screen reads first: digest, counts, where the files came from, when this
  version was first retrieved and when the source last confirmed it. The bucket is versioned, so every earlier
  manifest, and with it every list the product ever screened against, stays retrievable.

What is refused keeps the previous list in place: a file that does not read as OFAC's format (an HTML error page,
a truncated row, an alias or address of an entry the list does not have), an empty list, or one that lost more than
``max_shrink`` of its entries at once (a cut-off download parses too; OFAC removes entries a few at a time). The
refusal is audited, counted (``SanctionsListRefused``, which pages) and the list's age keeps growing
(``SanctionsListAgeDays``, which pages past 8 days). The screen (``vendors/steps.py``) reads the current version
and names it in the vendor's assessment, so every screening says which list it used.

Two refreshes at once (the schedule and an operator's ``backoffice sanctions refresh``) each write the manifest
only if it is still the one they read (S3 conditional write, ``IfMatch`` / ``IfNoneMatch``); the loser reads the
winner's and stands down when the winner's is at least as new as what it fetched (docs/concurrency.md).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from importlib.resources.abc import Traversable
from typing import Any, Literal, Protocol

from pydantic import ConfigDict, Field, field_validator

from backoffice.models.envelope import Model
from backoffice.vendors.sanctions import (
    SAMPLE_LIST_DIRECTORY,
    SanctionsList,
    parse_sanctions_list,
)

LIST_FILES = ("sdn.csv", "alt.csv", "add.csv")
# Columns of each file (OFAC's legacy CSV distribution; no header row).
_WIDTHS = {"sdn.csv": 12, "alt.csv": 5, "add.csv": 6}
# OFAC's Sanctions List Service: the current SDN list in the legacy CSV format.
OFAC_URLS: Mapping[str, str] = {
    "sdn.csv": "https://sanctionslistservice.ofac.treas.gov/api/PublicationPreview/exports/SDN.CSV",
    "alt.csv": "https://sanctionslistservice.ofac.treas.gov/api/PublicationPreview/exports/ALT.CSV",
    "add.csv": "https://sanctionslistservice.ofac.treas.gov/api/PublicationPreview/exports/ADD.CSV",
}
MANIFEST_KEY = "sdn/current.json"
MAX_FILE_BYTES = 64 * 1024 * 1024  # the SDN file is ~5 MB; a source sending far more is not OFAC's list
MAX_REDIRECTS = 3
ATTEMPTS = 5  # writers of the manifest that lose a race re-read and decide again, this many times at most


class SanctionsSources(Model):
    """Where the list comes from (the firm configuration's ``sanctions_list``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    source: Literal["ofac", "sample"] = Field(
        default="ofac",
        description="ofac: OFAC's published files; sample: the fictional list shipped for demos",
    )
    urls: dict[Literal["sdn.csv", "alt.csv", "add.csv"], str] = Field(
        default_factory=lambda: dict(OFAC_URLS),  # type: ignore[arg-type]
        description="the three files' https addresses (a mirror the firm controls may stand in for OFAC's)",
    )
    max_shrink: float = Field(
        default=0.25,
        gt=0,
        lt=1,
        description="a new list with this share fewer entries than the current is refused",
    )

    @field_validator("urls")
    @classmethod
    def _three_https_files(cls, urls: dict[str, str]) -> dict[str, str]:
        missing = [name for name in LIST_FILES if name not in urls]
        if missing:
            raise ValueError(f"{', '.join(missing)} missing (the three files are one list)")
        insecure = [url for url in urls.values() if not url.startswith("https://")]
        if insecure:
            raise ValueError(f"{', '.join(insecure)} is not https")
        return urls


# ------------------------------------------------------------------------------------------------------------
# Where the files come from
# ------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ListFiles:
    """The three files as fetched, and where from (for the manifest and the audit record)."""

    files: Mapping[str, bytes]
    source: str

    @property
    def digest(self) -> str:
        """SHA-256 over the three files' own SHA-256s, as ``load_sanctions_list`` computes it."""
        combined = hashlib.sha256()
        for name in LIST_FILES:
            combined.update(hashlib.sha256(self.files.get(name, b"")).digest())
        return combined.hexdigest()


class SanctionsListUnavailable(Exception):
    """The source could not be reached or did not answer with the files."""


class ListSource(Protocol):
    def fetch(self) -> ListFiles: ...


class PackagedSample:
    """The fictional sample list shipped in the package: the local runtime's and the demo firm's source."""

    def __init__(self, directory: Traversable = SAMPLE_LIST_DIRECTORY) -> None:
        self.directory = directory

    def fetch(self) -> ListFiles:
        files = {name: (self.directory / name).read_bytes() for name in LIST_FILES}
        return ListFiles(files, source="sample:backoffice/vendors/data/sdn_sample")


class OfacDownload:
    """OFAC's published files over https, through the connectors' governed HTTP client (timeouts, breaker, call
    records). OFAC's service answers a file with a redirect to its storage: followed, to https only, a few hops."""

    def __init__(self, urls: Mapping[str, str], http: Any = None) -> None:
        self.urls = dict(urls)
        if http is None:
            from backoffice.connectors.http import ConnectorHttp, Governance

            http = ConnectorHttp("ofac", Governance(read_timeout_seconds=120, max_concurrency=3))
        self.http = http

    def fetch(self) -> ListFiles:
        from backoffice.connectors.ports import ConnectorError

        files: dict[str, bytes] = {}
        for name in LIST_FILES:
            url = self.urls[name]
            try:
                files[name] = self._get(url, name)
            except ConnectorError as error:
                raise SanctionsListUnavailable(f"{name}: {error}") from None
        return ListFiles(files, source=", ".join(self.urls[name] for name in LIST_FILES))

    def _get(self, url: str, name: str) -> bytes:
        for _ in range(MAX_REDIRECTS + 1):
            response = self.http.request("GET", url, operation=f"download {name}")
            if response.status in (301, 302, 303, 307, 308):
                location = response.header("location") or ""
                if not location.startswith("https://"):
                    raise SanctionsListUnavailable(f"{name}: redirected to a non-https address")
                url = location
                continue
            if response.status != 200:
                raise SanctionsListUnavailable(f"{name}: HTTP {response.status} from {url.split('?')[0]}")
            if len(response.body) > MAX_FILE_BYTES:
                raise SanctionsListUnavailable(f"{name}: {len(response.body)} bytes, more than a list can be")
            return bytes(response.body)
        raise SanctionsListUnavailable(f"{name}: more than {MAX_REDIRECTS} redirects")


def list_source(sources: SanctionsSources) -> ListSource:
    return (
        PackagedSample()
        if sources.source == "sample"
        else OfacDownload({str(name): url for name, url in sources.urls.items()})
    )


# ------------------------------------------------------------------------------------------------------------
# Reading a fetched list strictly
# ------------------------------------------------------------------------------------------------------------


class SanctionsListUnreadable(Exception):
    """The files are not a list in OFAC's format; ``problems`` are one line each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def _text(raw: bytes, name: str, problems: list[str]) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            return raw.decode("cp1252")
        except UnicodeDecodeError:
            problems.append(f"{name}: not text")
            return ""


def read_list_strictly(fetched: ListFiles) -> SanctionsList:
    """The list, or ``SanctionsListUnreadable``: every non-empty row has its file's width and a numeric entity
    number, every entry a name, and every alias and address belongs to an entry of the list.

    The screen's parser skips what it cannot read (a demo list with a stray line still screens); a list about to
    replace the one every vendor is screened against must read completely, so a damaged file is refused instead.
    """
    problems: list[str] = []
    texts: dict[str, str] = {}
    numbers: dict[str, set[int]] = {}
    for name in LIST_FILES:
        text = _text(fetched.files.get(name, b""), name, problems)
        texts[name] = text
        found: set[int] = set()
        bad = 0
        for line, row in enumerate(csv.reader(io.StringIO(text.replace("\x1a", ""))), start=1):
            if not row or not "".join(row).strip():
                continue
            if len(row) != _WIDTHS[name] or not row[0].strip().isdigit():
                bad += 1
                if bad <= 3:
                    problems.append(
                        f"{name} line {line}: {len(row)} fields (expected {_WIDTHS[name]}) or no entry number"
                    )
                continue
            if name == "sdn.csv" and row[1].strip() in ("", "-0-"):
                problems.append(f"{name} line {line}: entry {row[0].strip()} has no name")
            found.add(int(row[0]))
        if bad > 3:
            problems.append(f"{name}: {bad} rows that are not OFAC's format in all")
        numbers[name] = found
    if not numbers["sdn.csv"]:
        problems.append("sdn.csv: no entries")
    for name in ("alt.csv", "add.csv"):
        orphans = numbers[name] - numbers["sdn.csv"]
        if orphans and numbers["sdn.csv"]:
            sample = ", ".join(str(n) for n in sorted(orphans)[:5])
            problems.append(f"{name}: rows for {len(orphans)} entries sdn.csv does not have ({sample})")
    if problems:
        raise SanctionsListUnreadable(problems)
    return parse_sanctions_list(
        texts["sdn.csv"], texts["alt.csv"], texts["add.csv"], source=fetched.source, digest=fetched.digest
    )


# ------------------------------------------------------------------------------------------------------------
# The stored list
# ------------------------------------------------------------------------------------------------------------


class ListManifest(Model):
    """``sdn/current.json``: which version of the list the screen uses, and how fresh it is."""

    digest: str
    entries: int
    aliases: int
    addresses: int
    source: str
    keys: dict[str, str]  # file name -> object key
    retrieved_at: datetime  # when this version was first fetched and stored
    checked_at: datetime  # when the source last served it (a refresh that found it unchanged moves this)

    @property
    def version(self) -> str:
        """How an assessment names the list it screened against."""
        name = "sample SDN list" if self.source.startswith("sample:") else "OFAC SDN"
        return f"{name} sha256:{self.digest[:12]} retrieved {self.retrieved_at:%Y-%m-%d %H:%M} UTC"

    def age_days(self, now: datetime) -> float:
        return max(0.0, (now - self.checked_at).total_seconds() / 86400)


class SanctionsListMissing(Exception):
    """No list has been stored yet: screening cannot clear anyone."""


class ManifestChanged(Exception):
    """Another refresh wrote the manifest after this one read it."""


_cache_lock = threading.Lock()
_cached: dict[str, SanctionsList] = {}  # version -> list; one entry, replaced when the version changes


class SanctionsListStore:
    """The sanctions-lists bucket: content-addressed files and the manifest naming the current version."""

    def __init__(self, s3: Any, bucket: str) -> None:
        self.s3, self.bucket = s3, bucket

    def manifest(self) -> tuple[ListManifest | None, str | None]:
        """The current manifest and its ETag (the condition a writer puts it back under); ``(None, None)``."""
        try:
            answer = self.s3.get_object(Bucket=self.bucket, Key=MANIFEST_KEY)
        except self.s3.exceptions.NoSuchKey:
            return None, None
        return ListManifest.model_validate_json(answer["Body"].read()), answer["ETag"]

    def store_files(self, fetched: ListFiles) -> dict[str, str]:
        keys = {name: f"sdn/{fetched.digest}/{name}" for name in LIST_FILES}
        for name, key in keys.items():
            self.s3.put_object(Bucket=self.bucket, Key=key, Body=fetched.files[name], ContentType="text/csv")
        return keys

    def put_manifest(self, manifest: ListManifest, etag: str | None) -> None:
        """Writes the manifest only if it is still the one read (``etag``; none: only if there is none)."""
        condition = {"IfMatch": etag} if etag else {"IfNoneMatch": "*"}
        try:
            self.s3.put_object(
                Bucket=self.bucket,
                Key=MANIFEST_KEY,
                Body=manifest.model_dump_json(indent=1).encode(),
                ContentType="application/json",
                **condition,
            )
        except self.s3.exceptions.ClientError as error:
            if error.response["Error"]["Code"] in (
                "PreconditionFailed",
                "ConditionalRequestConflict",
                "NoSuchKey",
            ):
                raise ManifestChanged from None
            raise

    def load(self) -> tuple[SanctionsList, ListManifest]:
        """The current list, read once per version per process (the manifest is read on every call)."""
        manifest, _ = self.manifest()
        if manifest is None:
            raise SanctionsListMissing(
                "no sanctions list has been loaded yet: run `backoffice sanctions refresh` (or wait for the daily "
                "refresh); screening cannot clear a vendor without one"
            )
        with _cache_lock:
            cached = _cached.get(manifest.version)
        if cached is None:
            texts = {
                name: self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
                for name, key in manifest.keys.items()
            }
            cached = read_list_strictly(ListFiles(texts, source=manifest.source))
            if cached.digest != manifest.digest:
                raise SanctionsListUnreadable(
                    [f"the stored files do not match the manifest's digest {manifest.digest}"]
                )
            cached.version = manifest.version
            with _cache_lock:
                _cached.clear()
                _cached[manifest.version] = cached
        return cached, manifest


# ------------------------------------------------------------------------------------------------------------
# A refresh
# ------------------------------------------------------------------------------------------------------------

RefreshOutcome = Literal["updated", "unchanged", "refused", "unavailable", "superseded"]


class RefreshResult(Model):
    outcome: RefreshOutcome
    reasons: list[str] = Field(default_factory=list)
    source: str = ""
    digest: str | None = None  # the list now current
    previous_digest: str | None = None
    entries: int | None = None
    age_days: float | None = None  # of the list now current; None: there is none
    version: str | None = None


def refresh_sanctions_list(
    source: ListSource, store: SanctionsListStore, *, now: Callable[[], datetime], max_shrink: float = 0.25
) -> RefreshResult:
    """Fetch, check, and make the fetched list current unless it is refused or a newer one won meanwhile."""
    fetched_at = now()
    try:
        fetched = source.fetch()
    except SanctionsListUnavailable as error:
        current, _ = store.manifest()
        return _kept(current, "unavailable", [f"the list could not be fetched: {error}"], "", fetched_at)
    try:
        listed = read_list_strictly(fetched)
    except SanctionsListUnreadable as unreadable:
        current, _ = store.manifest()
        return _kept(current, "refused", unreadable.problems, fetched.source, fetched_at)
    for _ in range(ATTEMPTS):
        current, etag = store.manifest()
        if current is not None and current.checked_at >= fetched_at:
            if current.digest == fetched.digest:
                return _result("unchanged", current, None, [], fetched_at)
            # Another refresh stored what its source served later than ours: ours is not the newer list.
            return _result(
                "superseded", current, None, ["a refresh that fetched later stored its list"], fetched_at
            )
        if current is not None and current.digest == fetched.digest:
            manifest = current.model_copy(update={"checked_at": fetched_at})
        else:
            if current is not None and len(listed) < current.entries * (1 - max_shrink):
                return _kept(
                    current,
                    "refused",
                    [
                        f"the fetched list has {len(listed)} entries, {current.entries - len(listed)} fewer than the "
                        f"current {current.entries} (more than {max_shrink:.0%} at once: a cut-off download?)"
                    ],
                    fetched.source,
                    fetched_at,
                )
            manifest = new_manifest(fetched, listed, store.store_files(fetched), fetched_at)
        try:
            store.put_manifest(manifest, etag)
        except ManifestChanged:
            continue
        outcome: RefreshOutcome = (
            "unchanged" if current is not None and current.digest == manifest.digest else "updated"
        )
        return _result(outcome, manifest, current, [], fetched_at)
    current, _ = store.manifest()
    return _kept(
        current, "superseded", ["other refreshes kept writing the manifest"], fetched.source, fetched_at
    )


def new_manifest(
    fetched: ListFiles, listed: SanctionsList, keys: dict[str, str], retrieved_at: datetime
) -> ListManifest:
    """The manifest of a list version just stored under ``keys``."""
    return ListManifest(
        digest=fetched.digest,
        entries=len(listed),
        aliases=sum(len(entry.aliases) for entry in listed.entries.values()),
        addresses=sum(len(entry.addresses) for entry in listed.entries.values()),
        source=fetched.source,
        keys=keys,
        retrieved_at=retrieved_at,
        checked_at=retrieved_at,
    )


def _result(
    outcome: RefreshOutcome,
    manifest: ListManifest,
    previous: ListManifest | None,
    reasons: list[str],
    now: datetime,
) -> RefreshResult:
    return RefreshResult(
        outcome=outcome,
        reasons=reasons
        or (
            [f"{manifest.entries} entries, {manifest.aliases} aliases, {manifest.addresses} addresses"]
            + (
                [f"replaces sha256:{previous.digest[:12]}"]
                if previous and previous.digest != manifest.digest
                else []
            )
        ),
        source=manifest.source,
        digest=manifest.digest,
        previous_digest=previous.digest if previous else None,
        entries=manifest.entries,
        age_days=round(manifest.age_days(now), 3),
        version=manifest.version,
    )


def _kept(
    current: ListManifest | None, outcome: RefreshOutcome, reasons: list[str], source: str, now: datetime
) -> RefreshResult:
    """A refresh that changed nothing: the current list (if any) stays, and its age says how stale it is."""
    return RefreshResult(
        outcome=outcome,
        reasons=[
            *reasons,
            "the current list is kept" if current else "there is still no list: screening stops",
        ],
        source=source,
        digest=current.digest if current else None,
        entries=current.entries if current else None,
        age_days=round(current.age_days(now), 3) if current else None,
        version=current.version if current else None,
    )


def sources_from_json(document: str) -> SanctionsSources:
    return SanctionsSources.model_validate(json.loads(document or "{}"))


__all__ = [
    "LIST_FILES",
    "MANIFEST_KEY",
    "OFAC_URLS",
    "ListFiles",
    "ListManifest",
    "ListSource",
    "OfacDownload",
    "PackagedSample",
    "RefreshResult",
    "SanctionsListMissing",
    "SanctionsListStore",
    "SanctionsListUnavailable",
    "SanctionsListUnreadable",
    "SanctionsSources",
    "list_source",
    "new_manifest",
    "read_list_strictly",
    "refresh_sanctions_list",
    "sources_from_json",
]
