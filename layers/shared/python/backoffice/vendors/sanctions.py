"""Sanctions screening of vendor names against OFAC's SDN list, read in the CSV format OFAC publishes.

The list is three files with no header row, ``-0-`` for an empty field and a Ctrl-Z (0x1A) at the end:

- ``sdn.csv``: ent_num, SDN_Name, SDN_Type, Program, Title, Call_Sign, Vess_type, Tonnage, GRT, Vess_flag,
  Vess_owner, Remarks. An individual is written ``LAST, First``; an entity has no type (``-0-``); several
  programs share one field as ``SDGT] [IRAN``.
- ``alt.csv``: ent_num, alt_num, alt_type (aka, fka, nka), alt_name, alt_remarks.
- ``add.csv``: Ent_num, Add_num, Address, City/State/Province/Postal Code, Country, Add_remarks.

Matching follows what OFAC's own Sanctions List Search describes: Jaro-Winkler on the full name and on each
name part, over primary names and aliases alike. A vendor is never cleared by a machine when a name scores at
or above the threshold: the decision is ``review`` and a compliance officer decides. The country of the
vendor is shown on each hit for that officer, not used to dismiss it, since a listed party may trade from
anywhere.

Country names in ``add.csv`` are matched to ISO 3166 codes with ``data/countries.csv``, generated from the
Debian iso-codes tables (names, common and official names) plus the spellings OFAC uses ("Burma",
"Korea, North").
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Literal

from pydantic import Field

from backoffice.models import CanonicalModel
from backoffice.vendors.names import comparable_name, fold

DEFAULT_THRESHOLD = 0.90

SdnType = Literal["individual", "entity", "vessel", "aircraft"]
NameKind = Literal["primary", "alias"]

# The sample list shipped for the demo firm and the tests; a deployment points at OFAC's current files.
SAMPLE_LIST_DIRECTORY: Traversable = files("backoffice.vendors") / "data" / "sdn_sample"


# ------------------------------------------------------------------------------------------------------------
# The list
# ------------------------------------------------------------------------------------------------------------


class SdnAlias(CanonicalModel):
    alt_num: int
    alt_type: str  # aka, fka (formerly known as), nka (now known as)
    name: str
    remarks: str | None = None


class SdnAddress(CanonicalModel):
    add_num: int
    address: str | None = None
    city_region_postal: str | None = None
    country: str | None = None  # as OFAC writes it: "United Arab Emirates", "Korea, North"
    remarks: str | None = None


class SdnEntry(CanonicalModel):
    """One listed party with its aliases and addresses."""

    ent_num: int
    name: str
    sdn_type: SdnType
    programs: list[str] = Field(default_factory=list)
    title: str | None = None
    call_sign: str | None = None
    vessel_type: str | None = None
    tonnage: str | None = None
    gross_registered_tonnage: str | None = None
    vessel_flag: str | None = None
    vessel_owner: str | None = None
    remarks: str | None = None
    aliases: list[SdnAlias] = Field(default_factory=list)
    addresses: list[SdnAddress] = Field(default_factory=list)

    @property
    def countries(self) -> list[str]:
        """Countries of the listed addresses, and a vessel's flag: what the reviewer compares with the vendor."""
        found = [address.country for address in self.addresses if address.country]
        if self.vessel_flag:
            found.append(self.vessel_flag)
        return list(dict.fromkeys(found))


@dataclass(frozen=True, slots=True)
class _ListedName:
    ent_num: int
    written: str
    kind: NameKind
    tokens: tuple[str, ...]
    individual: bool


class SanctionsList:
    """The SDN entries, indexed for screening. ``digest`` identifies the list version in the audit trail;
    ``version`` names it for people (which stored list, retrieved when), when it came from the refreshed store."""

    def __init__(
        self, entries: Iterable[SdnEntry], *, source: str = "", digest: str = "", version: str = ""
    ) -> None:
        self.entries: dict[int, SdnEntry] = {entry.ent_num: entry for entry in entries}
        self.source = source
        self.digest = digest
        self.version = version or (f"{source} sha256:{digest[:12]}" if digest else source)
        self._names: list[_ListedName] = []
        for entry in self.entries.values():
            individual = entry.sdn_type == "individual"
            written: list[tuple[str, NameKind]] = [(entry.name, "primary")]
            written += [(alias.name, "alias") for alias in entry.aliases]
            for written_name, kind in written:
                tokens = tuple(comparable_name(written_name, individual=individual).split())
                if tokens:
                    self._names.append(_ListedName(entry.ent_num, written_name, kind, tokens, individual))
        self._full = [" ".join(name.tokens) for name in self._names]
        self._sorted = [" ".join(sorted(name.tokens)) for name in self._names]
        by_token: dict[str, set[int]] = {}
        for index, listed in enumerate(self._names):
            for token in listed.tokens:
                by_token.setdefault(token, set()).add(index)
        self._by_token = by_token
        self._vocabulary = list(by_token)

    def __len__(self) -> int:
        return len(self.entries)

    def scores(self, name: str, threshold: float) -> dict[int, tuple[float, _ListedName]]:
        """The best score per listed party at or above ``threshold``, with the name that scored it."""
        # rapidfuzz here, not at cold start: a handler that never screens a name skips it.
        from rapidfuzz import process
        from rapidfuzz.distance import JaroWinkler

        tokens = comparable_name(name).split()
        if not tokens:
            return {}
        full, ordered = " ".join(tokens), " ".join(sorted(tokens))
        scored: dict[int, float] = {}

        def keep(index: int, score: float) -> None:
            if score >= threshold and score > scored.get(index, -1.0):
                scored[index] = score

        # Full name, as written and with its words in alphabetical order ("Esteban Vargas" = "Vargas Esteban").
        for query, choices in ((full, self._full), (ordered, self._sorted)):
            for _, score, index in process.extract(
                query, choices, scorer=JaroWinkler.normalized_similarity, score_cutoff=threshold, limit=None
            ):
                keep(index, score)
        # Name parts: only names sharing a word close to one of the query's can reach the threshold, since a
        # weighted mean of part scores is never above its best part.
        candidates: set[int] = set()
        for token in tokens:
            for similar, _, _ in process.extract(
                token,
                self._vocabulary,
                scorer=JaroWinkler.normalized_similarity,
                score_cutoff=threshold,
                limit=None,
            ):
                candidates |= self._by_token[similar]
        for index in candidates:
            listed = self._names[index]
            keep(index, _name_part_score(tokens, listed.tokens, individual=listed.individual))

        best: dict[int, tuple[float, _ListedName]] = {}
        for index, score in scored.items():
            listed = self._names[index]
            current = best.get(listed.ent_num)
            # A primary name wins a tie: it is what the reviewer looks up.
            if current is None or (score, listed.kind == "primary") > (
                current[0],
                current[1].kind == "primary",
            ):
                best[listed.ent_num] = (score, listed)
        return best


def _directed_part_score(parts: Sequence[str], against: Sequence[str]) -> float:
    from rapidfuzz.distance import JaroWinkler

    # Each part's best match, weighted by its length so that "al" or "de" weigh less than a surname.
    total = sum(len(part) for part in parts)
    return (
        sum(
            len(part) * max(JaroWinkler.normalized_similarity(part, other) for other in against)
            for part in parts
        )
        / total
    )


def _name_part_score(query: Sequence[str], listed: Sequence[str], *, individual: bool) -> float:
    """Per name part, both ways: a query that is one word of a long listed name does not score as a match.

    A listed individual is the exception: a vendor form gives "Pyotr Zorvanov" for "ZORVANOV, Pyotr
    Alekseevich", since nobody writes their patronymic or second surname on an invoice. Two or more words
    that all match the listed person's name score as the match they are.
    """
    both_ways = (_directed_part_score(query, listed) + _directed_part_score(listed, query)) / 2
    if individual and len(query) >= 2:
        return max(both_ways, _directed_part_score(query, listed))
    return both_ways


# ------------------------------------------------------------------------------------------------------------
# Loading OFAC's CSV files
# ------------------------------------------------------------------------------------------------------------


def _cell(value: str) -> str | None:
    value = value.strip()
    return None if value in ("", "-0-") else value


def _rows(text: str, width: int) -> Iterator[list[str | None]]:
    """Data rows of an OFAC CSV file, padded to ``width``; the trailing Ctrl-Z and blank lines are skipped."""
    for row in csv.reader(io.StringIO(text.replace("\x1a", ""))):
        if not row or not row[0].strip().isdigit():
            continue
        cells = [_cell(value) for value in row[:width]]
        yield cells + [None] * (width - len(cells))


def _programs(field: str | None) -> list[str]:
    if field is None:
        return []
    return [part.strip(" []") for part in field.split("] [") if part.strip(" []")]


def _sdn_type(field: str | None) -> SdnType:
    kind = (field or "").lower()
    if kind == "individual":
        return "individual"
    if kind == "vessel":
        return "vessel"
    if kind == "aircraft":
        return "aircraft"
    return "entity"


def _decode(raw: bytes) -> str:
    # OFAC's files are ASCII in practice; Windows-1252 covers the odd accented remark in older files.
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("cp1252")


def parse_sanctions_list(
    sdn_csv: str, alt_csv: str = "", add_csv: str = "", *, source: str = "", digest: str = ""
) -> SanctionsList:
    """A ``SanctionsList`` from the text of OFAC's three CSV files."""
    aliases: dict[int, list[SdnAlias]] = {}
    for ent, alt_num, alt_type, alt_name, alt_remarks in _rows(alt_csv, 5):
        if ent is None or alt_num is None or alt_name is None:
            continue
        aliases.setdefault(int(ent), []).append(
            SdnAlias(
                alt_num=int(alt_num), alt_type=(alt_type or "aka").lower(), name=alt_name, remarks=alt_remarks
            )
        )
    addresses: dict[int, list[SdnAddress]] = {}
    for ent, add_num, address, city, country, add_remarks in _rows(add_csv, 6):
        if ent is None or add_num is None:
            continue
        addresses.setdefault(int(ent), []).append(
            SdnAddress(
                add_num=int(add_num),
                address=address,
                city_region_postal=city,
                country=country,
                remarks=add_remarks,
            )
        )
    entries = []
    for row in _rows(sdn_csv, 12):
        ent, name, kind, program, title, call_sign, vess_type, tonnage, grt, flag, owner, remarks = row
        if ent is None or name is None:
            continue
        entries.append(
            SdnEntry(
                ent_num=int(ent),
                name=name,
                sdn_type=_sdn_type(kind),
                programs=_programs(program),
                title=title,
                call_sign=call_sign,
                vessel_type=vess_type,
                tonnage=tonnage,
                gross_registered_tonnage=grt,
                vessel_flag=flag,
                vessel_owner=owner,
                remarks=remarks,
                aliases=aliases.get(int(ent), []),
                addresses=addresses.get(int(ent), []),
            )
        )
    return SanctionsList(entries, source=source, digest=digest)


def _find(directory: Traversable, file_name: str) -> Traversable | None:
    # OFAC serves SDN.CSV; mirrors and our sample use sdn.csv.
    for child in directory.iterdir():
        if child.name.lower() == file_name:
            return child
    return None


def load_sanctions_list(directory: str | Path | Traversable) -> SanctionsList:
    """Reads ``sdn.csv`` (required), ``alt.csv`` and ``add.csv`` (optional) from ``directory``.

    ``digest`` is the SHA-256 of the three files, so that a screening result names the list it used.
    """
    folder: Traversable = Path(directory) if isinstance(directory, str | Path) else directory
    if not folder.is_dir():
        raise FileNotFoundError(f"sanctions list directory not found: {folder}")
    texts: dict[str, str] = {}
    digest = hashlib.sha256()
    for file_name in ("sdn.csv", "alt.csv", "add.csv"):
        found = _find(folder, file_name)
        raw = found.read_bytes() if found is not None else b""
        digest.update(hashlib.sha256(raw).digest())
        texts[file_name] = _decode(raw)
    if not texts["sdn.csv"].strip():
        raise FileNotFoundError(f"no sdn.csv (or an empty one) in {folder}")
    return parse_sanctions_list(
        texts["sdn.csv"], texts["alt.csv"], texts["add.csv"], source=str(folder), digest=digest.hexdigest()
    )


def load_sample_sanctions_list() -> SanctionsList:
    """The fictional sample list shipped in the package, for the demo firm and the tests."""
    return load_sanctions_list(SAMPLE_LIST_DIRECTORY)


# ------------------------------------------------------------------------------------------------------------
# Countries
# ------------------------------------------------------------------------------------------------------------


@cache
def _country_codes() -> dict[str, str]:
    table: dict[str, str] = {}
    text = (files("backoffice.vendors") / "data" / "countries.csv").read_text(encoding="utf-8")
    for row in csv.DictReader(io.StringIO(text)):
        for name in row["names"].split("|"):
            table[fold(name)] = row["alpha_2"]
    return table


def country_code(country: str | None) -> str | None:
    """ISO 3166 alpha-2 code for a code or a country name as OFAC or ISO write it; ``None`` if unknown."""
    if not country:
        return None
    if len(country.strip()) == 2 and country.strip().isalpha():
        return country.strip().upper()
    return _country_codes().get(fold(country))


# ------------------------------------------------------------------------------------------------------------
# Screening
# ------------------------------------------------------------------------------------------------------------


class Hit(CanonicalModel):
    """A listed party whose name, or one of its aliases, scored at or above the threshold."""

    ent_num: int
    matched_name: str  # the primary name or alias that scored, as OFAC writes it
    listed_name: str  # the party's primary name
    score: float  # Jaro-Winkler similarity, 0-1
    program: str  # the sanctions programs, comma-separated: "SDGT, IRAN"
    kind: NameKind
    sdn_type: SdnType
    countries: list[str] = Field(default_factory=list)
    country_match: bool | None = None  # None: no vendor country given, or none listed

    @property
    def reason(self) -> str:
        alias = f" (alias of {self.listed_name!r})" if self.kind == "alias" else ""
        where = f", listed in {', '.join(self.countries)}" if self.countries else ""
        return (
            f"possible SDN match: {self.matched_name!r}{alias}, entry {self.ent_num}, {self.sdn_type}, "
            f"programs {self.program}{where}, score {self.score:.2f}"
        )


class ScreeningResult(CanonicalModel):
    """What screening found for one vendor, and which list it used. ``review``: a person must decide."""

    screened_names: list[str]
    hits: list[Hit] = Field(default_factory=list)
    decision: Literal["clear", "review"]
    threshold: float
    list_digest: str = ""
    list_version: str = ""  # which list, retrieved when: what an auditor asks of a clearance

    @property
    def reasons(self) -> list[str]:
        return [hit.reason for hit in self.hits]


def screen_names(
    names: Sequence[str],
    country: str | None = None,
    *,
    sanctions_list: SanctionsList,
    threshold: float = DEFAULT_THRESHOLD,
) -> ScreeningResult:
    """Screens every name a vendor goes by (legal name, W-9 line 1 and line 2) and merges the hits."""
    wanted = [name for name in dict.fromkeys(names) if name.strip()]
    if not wanted:
        raise ValueError("screening needs at least one non-empty name")
    code = country_code(country)
    best: dict[int, tuple[float, _ListedName]] = {}
    for name in wanted:
        for ent_num, found in sanctions_list.scores(name, threshold).items():
            if ent_num not in best or found[0] > best[ent_num][0]:
                best[ent_num] = found
    hits = []
    for ent_num, (score, listed) in best.items():
        entry = sanctions_list.entries[ent_num]
        listed_codes = {country_code(listed_country) for listed_country in entry.countries} - {None}
        hits.append(
            Hit(
                ent_num=ent_num,
                matched_name=listed.written,
                listed_name=entry.name,
                score=round(score, 4),
                program=", ".join(entry.programs),
                kind=listed.kind,
                sdn_type=entry.sdn_type,
                countries=entry.countries,
                country_match=(code in listed_codes) if code and listed_codes else None,
            )
        )
    hits.sort(key=lambda hit: (-hit.score, hit.country_match is not True, hit.ent_num))
    return ScreeningResult(
        screened_names=wanted,
        hits=hits,
        decision="review" if hits else "clear",
        threshold=threshold,
        list_digest=sanctions_list.digest,
        list_version=sanctions_list.version,
    )


def screen(
    name: str,
    country: str | None = None,
    *,
    sanctions_list: SanctionsList,
    threshold: float = DEFAULT_THRESHOLD,
) -> ScreeningResult:
    """Screens one name. ``country``: the vendor's, as an ISO code or a name, shown against each hit."""
    return screen_names([name], country, sanctions_list=sanctions_list, threshold=threshold)
