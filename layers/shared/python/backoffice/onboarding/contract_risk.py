"""Contract and SOW risk: the clauses that send a new engagement to legal or finance before work starts.

The rules are DOMAIN.md section 5. Each is one small function over the contract's sentences, written as
deterministic regex and number logic so that a reviewer can read why a clause was flagged and a firm can
predict what will be. The thresholds, the governing-law allow-list, the firm's insurance cover and each
rule's severity are the firm's policy (``ContractRiskPolicy``), not constants.

A finding quotes the matched SENTENCE, not the whole clause: a lawyer reads one line and decides.

What makes this harder than keyword search, and what the rules watch for:

- negation: "Consultant shall not be liable for liquidated damages", "this SOW is non-exclusive";
- boilerplate that reads like a risk: "including, without limitation," is not "liability without limitation";
- carve-outs that live in another sentence or section: an IP assignment is fine when Pre-Existing IP is
  excepted anywhere in the contract, and a cap is not a cap for indemnities it "shall not apply to";
- numbers written "thirty (30) days", "30 days", "thirty days" or "a twelve-month period".
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, Literal

from pydantic import ConfigDict, Field, field_validator, model_validator

from backoffice.models.envelope import JsonModel, Model

# ------------------------------------------------------------------------------------------------------------
# The rules' regular expressions, compiled when first used
# ------------------------------------------------------------------------------------------------------------

_PATTERNS: list[_Pattern] = []


class _Pattern:
    """A regular expression compiled on its first use rather than when this module is imported.

    Compiling the rules' expressions takes most of this module's import (about 40 ms on Python 3.13, the long
    alternations of written numbers above all), and most onboarding handlers import the module only for its
    models (``Clause``, ``ContractFigures``, through ``sow_documents.SowFacts``), never running a rule. A handler
    that runs them on every invocation compiles them all at its init (``compile_patterns``), where the work is
    cheapest, not on its first event.
    """

    __slots__ = ("_compiled", "_flags", "_source")

    def __init__(self, source: str, flags: int = 0) -> None:
        self._source = source
        self._flags = flags
        self._compiled: re.Pattern[str] | None = None
        _PATTERNS.append(self)

    @property
    def compiled(self) -> re.Pattern[str]:
        # Two threads may both compile it: the same pattern either way (and ``re`` caches it).
        if self._compiled is None:
            self._compiled = re.compile(self._source, self._flags)
        return self._compiled

    def search(self, text: str, pos: int = 0, endpos: int = sys.maxsize) -> re.Match[str] | None:
        return self.compiled.search(text, pos, endpos)

    def match(self, text: str, pos: int = 0, endpos: int = sys.maxsize) -> re.Match[str] | None:
        return self.compiled.match(text, pos, endpos)

    def finditer(self, text: str, pos: int = 0, endpos: int = sys.maxsize) -> Iterator[re.Match[str]]:
        return self.compiled.finditer(text, pos, endpos)

    def sub(self, replacement: str | Callable[[re.Match[str]], str], text: str, count: int = 0) -> str:
        return self.compiled.sub(replacement, text, count)


def compile_patterns(which: Literal["all", "sow_reading"] = "all") -> int:
    """Compile the rules' regular expressions now, at a handler's init; the number compiled. ``"all"``: every
    rule's (the contract review runs them all); ``"sow_reading"``: those reading a SOW's text runs
    (``sow_documents.parse_sow_text``: its sentences and payment terms)."""
    patterns = _PATTERNS if which == "all" else _SOW_READING
    for pattern in patterns:
        _ = pattern.compiled
    return len(patterns)


# ------------------------------------------------------------------------------------------------------------
# Models
# ------------------------------------------------------------------------------------------------------------

Severity = Literal["low", "medium", "high"]
RiskLevel = Literal["none", "low", "medium", "high"]
RiskRule = Literal[
    "uncapped_liability",
    "ip_assignment_without_carve_out",
    "liability_cap_below_minimum",
    "auto_renewal_long_notice",
    "termination_for_convenience",
    "payment_terms_over_limit",
    "non_solicit_over_limit",
    "most_favoured_nation",
    "exclusivity_or_non_compete",
    "liquidated_damages",
    "governing_law_not_allowed",
    "insurance_above_cover",
]
InsuranceLine = Literal[
    "general_liability",
    "professional_liability",
    "cyber_liability",
    "umbrella",
    "employers_liability",
    "workers_compensation",
]

_LEVEL_ORDER: dict[RiskLevel, int] = {"none": 0, "low": 1, "medium": 2, "high": 3}


class _Frozen(JsonModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Clause(_Frozen):
    """One numbered section of a SOW as extracted: ``Clause(section="7", heading="Limitation of Liability")``."""

    section: str
    heading: str
    text: str


class ContractFigures(_Frozen):
    """The money a rule compares a clause against, when it needs money at all.

    ``annual_fees`` is what the firm expects to bill in any twelve months of the contract: the yardstick of
    "a cap below 12 months of fees". ``contract_value`` is the total over the whole term, for caps written as
    "the fees paid under this SOW".
    """

    annual_fees: Decimal | None = Field(default=None, gt=0)
    contract_value: Decimal | None = Field(default=None, gt=0)

    @classmethod
    def for_term(cls, total_fees: Decimal, start: date, end: date | None) -> ContractFigures:
        """Figures of a contract worth ``total_fees`` from ``start`` to ``end``.

        A contract shorter than a year bills all its fees within twelve months, so its annual fees are its
        total; a longer one is pro-rated over its days. An open-ended contract counts as one year.
        """
        if total_fees <= 0:
            return cls()
        days = (end - start).days + 1 if end is not None else 365
        annual = total_fees if days <= 365 else (total_fees * 365 / Decimal(days)).quantize(Decimal("0.01"))
        return cls(annual_fees=annual, contract_value=total_fees)


class InsuranceLimit(_Frozen):
    """The firm's cover on one line of insurance: per claim (or occurrence) and in the aggregate."""

    per_claim: Decimal = Field(gt=0)
    aggregate: Decimal = Field(gt=0)

    @model_validator(mode="after")
    def _aggregate_not_below_per_claim(self) -> InsuranceLimit:
        if self.aggregate < self.per_claim:
            raise ValueError("the aggregate limit is below the per-claim limit")
        return self


def _default_severities() -> dict[RiskRule, Severity]:
    # DOMAIN.md section 5: these two are HIGH, every other rule MEDIUM unless the firm says otherwise.
    severities: dict[RiskRule, Severity] = dict.fromkeys(RULE_NAMES, "medium")
    severities["uncapped_liability"] = "high"
    severities["ip_assignment_without_carve_out"] = "high"
    return severities


def _default_points() -> dict[Severity, int]:
    return {"low": 1, "medium": 3, "high": 10}


def _default_insurance_cover() -> dict[InsuranceLine, InsuranceLimit]:
    million = Decimal(1_000_000)
    return {
        "general_liability": InsuranceLimit(per_claim=2 * million, aggregate=4 * million),
        "professional_liability": InsuranceLimit(per_claim=5 * million, aggregate=5 * million),
        "cyber_liability": InsuranceLimit(per_claim=5 * million, aggregate=5 * million),
        "umbrella": InsuranceLimit(per_claim=10 * million, aggregate=10 * million),
        "employers_liability": InsuranceLimit(per_claim=1 * million, aggregate=1 * million),
        "workers_compensation": InsuranceLimit(per_claim=1 * million, aggregate=1 * million),
    }


class ContractRiskPolicy(_Frozen):
    """The firm's contract risk appetite. Defaults are DOMAIN.md section 5; load a firm's own with
    ``ContractRiskPolicy.from_json_dict(data)`` (unknown keys and impossible values are refused).
    """

    min_liability_cap_months: int = Field(default=12, ge=1, le=120)
    max_auto_renewal_notice_days: int = Field(default=60, ge=0, le=365)
    min_termination_notice_days: int = Field(default=30, ge=0, le=365)
    # EU Directive 2011/7/EU caps B2B payment terms at 60 days unless expressly agreed.
    max_payment_terms_days: int = Field(default=60, ge=0, le=365)
    max_non_solicit_months: int = Field(default=12, ge=0, le=120)
    # Matched as whole words inside the jurisdiction a clause names: "the State of New York" is "New York".
    governing_law_allow_list: tuple[str, ...] = (
        "New York",
        "Delaware",
        "California",
        "England and Wales",
        "England",
    )
    insurance_cover: dict[InsuranceLine, InsuranceLimit] = Field(default_factory=_default_insurance_cover)
    severities: dict[RiskRule, Severity] = Field(default_factory=_default_severities)
    disabled_rules: frozenset[RiskRule] = frozenset()
    severity_points: dict[Severity, int] = Field(default_factory=_default_points)
    # Several medium risks in one contract add up to a high one: four of them by default.
    escalate_to_high_at_score: int = Field(default=12, ge=1)
    legal_review_from: Severity = "medium"

    @model_validator(mode="before")
    @classmethod
    def _defaults_under_overrides(cls, data: Any) -> Any:
        """A firm names only the severities and points it changes; the rest keep their defaults."""
        if isinstance(data, dict):
            data = dict(data)
            if isinstance(data.get("severities"), dict):
                data["severities"] = {**_default_severities(), **data["severities"]}
            if isinstance(data.get("severity_points"), dict):
                data["severity_points"] = {**_default_points(), **data["severity_points"]}
        return data

    @field_validator("governing_law_allow_list")
    @classmethod
    def _jurisdictions_named(cls, names: tuple[str, ...]) -> tuple[str, ...]:
        if any(not _jurisdiction_words(name) for name in names):
            raise ValueError("a governing-law allow-list entry is blank")
        return names

    @field_validator("severity_points")
    @classmethod
    def _points_not_negative(cls, points: dict[Severity, int]) -> dict[Severity, int]:
        if any(value < 0 for value in points.values()):
            raise ValueError("severity points cannot be negative")
        return points

    def severity_of(self, rule: RiskRule) -> Severity:
        return self.severities[rule]


class RiskFinding(Model):
    """One risky sentence: the rule it breaks, how bad, where it is and why it matters."""

    model_config = ConfigDict(frozen=True)

    rule: RiskRule
    severity: Severity
    section: str
    sentence: str
    explanation: str


class RiskAssessment(Model):
    """The contract's overall risk: what a reviewer reads first, and whether the case waits for legal."""

    model_config = ConfigDict(frozen=True)

    score: int
    level: RiskLevel
    findings: list[RiskFinding]
    requires_legal_review: bool


# ------------------------------------------------------------------------------------------------------------
# Numbers, durations and amounts as contracts write them
# ------------------------------------------------------------------------------------------------------------

# fmt: off
SMALL_NUMBER_WORDS = (
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
    "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen",
)
TENS_NUMBER_WORDS = ("twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
# fmt: on
_UNITS = {word: value for value, word in enumerate(SMALL_NUMBER_WORDS)}
_TENS = {word: (index + 2) * 10 for index, word in enumerate(TENS_NUMBER_WORDS)}
_SCALES = {"hundred": 100, "thousand": 1000}
_NUMBER_WORDS = sorted([*_UNITS, *_TENS, *_SCALES], key=len, reverse=True)
_WORD = r"\b(?:" + "|".join(_NUMBER_WORDS) + r")\b"
_WORDS = rf"{_WORD}(?:(?:\s+|-)(?:and\s+)?{_WORD})*"
_DIGITS = r"\d{1,3}(?:,\d{3})+|\d+"
# "thirty (30)", "30" or "thirty": the digits in parentheses win when both are written.
NUMBER = rf"(?:{_WORDS}\s*\(\s*(?:{_DIGITS})\s*\)|(?:{_DIGITS})\b|{_WORDS})"
_DURATION = _Pattern(
    rf"(?P<number>{NUMBER})\s*(?:-\s*)?(?:calendar\s+|business\s+|working\s+)?"
    r"(?P<unit>day|week|month|year)s?\b",
    re.IGNORECASE,
)
_CURRENCY = r"USD|EUR|GBP|CAD|AUD|CHF|US\$|\$|€|£"
_AMOUNT = _Pattern(
    rf"(?P<currency>{_CURRENCY})\s?(?P<number>\d{{1,3}}(?:,\d{{3}})+(?:\.\d+)?|\d+(?:\.\d+)?)"
    r"(?:\s*(?P<scale>million|thousand|m|k)\b)?",
    re.IGNORECASE,
)
_DAYS_PER_UNIT = {"day": Decimal(1), "week": Decimal(7), "month": Decimal(30), "year": Decimal(365)}
_MONTHS_PER_UNIT = {"day": Decimal(1) / 30, "week": Decimal(7) / 30, "month": Decimal(1), "year": Decimal(12)}


def words_to_number(words: str) -> int:
    """``"one hundred and twenty"`` -> 120, ``"forty-five"`` -> 45. Raises ``ValueError`` on other words."""
    total, current = 0, 0
    for word in re.split(r"[\s-]+", words.lower().strip()):
        if word in ("", "and"):
            continue
        if word in _UNITS:
            current += _UNITS[word]
        elif word in _TENS:
            current += _TENS[word]
        elif word == "hundred":
            current = max(current, 1) * 100
        elif word == "thousand":
            total += max(current, 1) * 1000
            current = 0
        else:
            raise ValueError(f"not a number word: {word!r}")
    return total + current


def number_in_words(number: int) -> str:
    """``45`` -> ``"forty-five"``, ``120`` -> ``"one hundred twenty"`` (0 to 999): the inverse of
    ``words_to_number``, for documents that write numbers as contracts do."""
    if not 0 <= number <= 999:
        raise ValueError("only 0 to 999 are written in words here")
    hundreds, rest = divmod(number, 100)
    words = [f"{SMALL_NUMBER_WORDS[hundreds]} hundred"] if hundreds else []
    if rest >= 20:
        tens, units = divmod(rest, 10)
        words.append(TENS_NUMBER_WORDS[tens - 2] + (f"-{SMALL_NUMBER_WORDS[units]}" if units else ""))
    elif rest or not hundreds:
        words.append(SMALL_NUMBER_WORDS[rest])
    return " ".join(words)


def number_value(text: str) -> int:
    """The value of a number as contracts write it: ``"thirty (30)"``, ``"30"``, ``"thirty"``, ``"1,000"``."""
    digits = re.search(r"\d[\d,]*", text)
    if digits:
        return int(digits.group().replace(",", ""))
    return words_to_number(text)


@dataclass(frozen=True)
class Duration:
    """A period written in a sentence, with where it sits (to read what precedes and follows it)."""

    value: int
    unit: str
    start: int
    end: int

    @property
    def days(self) -> Decimal:
        return self.value * _DAYS_PER_UNIT[self.unit]

    @property
    def months(self) -> Decimal:
        return self.value * _MONTHS_PER_UNIT[self.unit]


def durations_in(text: str) -> list[Duration]:
    """Every ``<number> <day|week|month|year>`` of the text, in order."""
    return [
        Duration(number_value(m["number"]), m["unit"].lower(), m.start(), m.end())
        for m in _DURATION.finditer(text)
    ]


@dataclass(frozen=True)
class Amount:
    value: Decimal
    currency: str
    start: int
    end: int


def amounts_in(text: str) -> list[Amount]:
    """Every currency amount of the text: ``USD 2,000,000``, ``$5 million``, ``EUR 250k``."""
    found: list[Amount] = []
    for m in _AMOUNT.finditer(text):
        value = Decimal(m["number"].replace(",", ""))
        scale = (m["scale"] or "").lower()
        value *= {"million": 1_000_000, "m": 1_000_000, "thousand": 1000, "k": 1000}.get(scale, 1)
        currency = {"$": "USD", "US$": "USD", "€": "EUR", "£": "GBP"}.get(
            m["currency"], m["currency"].upper()
        )
        found.append(Amount(value, currency, m.start(), m.end()))
    return found


_NOTICE_AFTER = _Pattern(
    r"^\s*(?:['\u2019]s?\s*)?(?:\)\s*)?(?:(?:prior|advance|written|express)\s+)*"
    r"(?:notice|prior\s+to|before|in\s+advance|preceding\s+the)\b",
    re.IGNORECASE,
)
_NOTICE_BEFORE = _Pattern(
    r"\bnotice\b(?:\s+[\w-]+){0,4}?\s+(?:period\s+)?(?:of|at\s+least|not\s+less\s+than|no\s+less\s+than"
    r"|a\s+minimum\s+of)(?:\s+at\s+least|\s+not\s+less\s+than|\s+no\s+less\s+than)?\s*$",
    re.IGNORECASE,
)


def notice_periods_in(sentence: str) -> list[Duration]:
    """The periods of the sentence that are notice: ``ninety (90) days' prior written notice``,
    ``notice of at least thirty days``, ``60 days before the end of the term`` (not the renewal term itself).
    """
    return [
        d
        for d in durations_in(sentence)
        if _NOTICE_AFTER.match(sentence[d.end :]) or _NOTICE_BEFORE.search(sentence[: d.start])
    ]


# ------------------------------------------------------------------------------------------------------------
# Sentences
# ------------------------------------------------------------------------------------------------------------

# Tokens a period follows without ending a sentence ("U.S.", "Inc.", "e.g.", "No. 3", "Section 7.").
# fmt: off
_ABBREVIATIONS = frozenset((
    "inc", "ltd", "co", "corp", "llc", "no", "nos", "e.g", "i.e", "u.s", "u.k", "sec", "art", "para", "mr", "ms",
    "mrs", "dr", "vs", "st", "approx", "incl", "jr", "sr",
))
# fmt: on
_SENTENCE_END = _Pattern(r"[.!?](?=\s+[\"'\u201c(]?[A-Z0-9])")


def split_sentences(text: str) -> list[str]:
    """The sentences of a clause, whitespace collapsed (PDF extraction breaks lines anywhere)."""
    flat = " ".join(text.split())
    sentences, start = [], 0
    for m in _SENTENCE_END.finditer(flat):
        token = flat[start : m.start()].rsplit(" ", 1)[-1].lower().strip("(\"'\u201c")
        if token in _ABBREVIATIONS or re.fullmatch(r"[a-z]|(?:[a-z]\.)+[a-z]", token):
            continue
        if (
            re.fullmatch(r"(?:section|clause)?\d+(?:\.\d+)*", token)
            and flat[m.end() :].lstrip()[:1].isdigit()
        ):
            continue
        sentences.append(flat[start : m.end()].strip())
        start = m.end()
    tail = flat[start:].strip()
    if tail:
        sentences.append(tail)
    return sentences


@dataclass(frozen=True)
class Sentence:
    section: str
    heading: str
    text: str


@dataclass(frozen=True)
class _Contract:
    """What every rule reads: all sentences (carve-outs live anywhere), the policy and the figures."""

    clauses: tuple[tuple[Sentence, ...], ...]
    policy: ContractRiskPolicy
    figures: ContractFigures

    @property
    def sentences(self) -> Iterator[Sentence]:
        for clause in self.clauses:
            yield from clause


_NEGATION = _Pattern(r"\b(?:no|not|nothing|neither|nor|never|without|non)\b|n['\u2019]t\b", re.IGNORECASE)


def _negated(sentence: str, position: int, window: int = 80) -> bool:
    """Whether a negation precedes ``position`` in the same part of the sentence (after the last ';')."""
    before = sentence[max(0, position - window) : position]
    before = before.rsplit(";", 1)[-1]
    return _NEGATION.search(before) is not None


Hit = tuple[Sentence, str]
RuleCheck = Callable[[_Contract], Iterator[Hit]]


# ------------------------------------------------------------------------------------------------------------
# The rules: one function each, yielding (sentence, explanation)
# ------------------------------------------------------------------------------------------------------------

_LIABILITY = _Pattern(r"\b(?:liab\w*|indemn\w*)", re.IGNORECASE)
_INDEMNITY = _Pattern(r"\bindemn\w*", re.IGNORECASE)
_BOILERPLATE_INCLUDING = _Pattern(
    r"\bincluding,?\s+(?:but\s+)?without\s+limitation,?|\bincluding,?\s+but\s+not\s+limited\s+to,?"
    r"|\bwithout\s+limit(?:ation|ing)\s+(?:of\s+)?the\s+(?:generality\s+of\s+the\s+)?foregoing,?",
    re.IGNORECASE,
)
_UNCAPPED = _Pattern(
    r"\bunlimited\b|\buncapped\b|\bwithout\s+(?:any\s+)?(?:limitation|limit|cap)\b"
    r"|\b(?:shall|will|is|are)\s+not\s+(?:be\s+)?(?:limited|capped)\b"
    r"|\bnot\s+(?:be\s+)?subject\s+to\s+(?:the\s+|any\s+)?(?:limitation|limit|cap)"
    r"|\bno\s+(?:limitation|limit|cap)\s+(?:on|of|to)\b"
    r"|\bnothing\b[^.]*?\b(?:limits?|excludes?|restricts?)\b",
    re.IGNORECASE,
)
_CAP_DOES_NOT_APPLY = _Pattern(
    r"\b(?:limitations?|caps?|exclusions?|limits?)\b[^.]*?\b(?:shall|will|do|does)\s+not\s+apply\s+to\b",
    re.IGNORECASE,
)
# Liability that no contract can limit anyway; excluding it from a cap is standard, not a risk.
_UNLIMITABLE = _Pattern(
    r"\bfraud\w*|\bdeath\b|\b(?:personal|bodily)\s+injur\w*|\bgross(?:ly)?\s+neglig\w*"
    r"|\bwil+ful\w*\s+misconduct|\bintentional\s+misconduct|\bwil+ful\s+(?:default|breach)",
    re.IGNORECASE,
)


_CLIENT_LIABILITY = _Pattern(
    r"\b(?:client|customer)(?:['\u2019]s)?\s+(?:(?:aggregate|total|entire)\s+)?liabilit", re.IGNORECASE
)
_FIRM_PARTY = _Pattern(
    r"\b(?:consultant|supplier|vendor|contractor|firm|service\s+provider|either\s+party|each\s+party|both\s+parties"
    r"|the\s+parties|neither\s+party)\b",
    re.IGNORECASE,
)


def _only_client_liability(sentence: str) -> bool:
    """A sentence about the client's liability alone limits (or not) what the firm can recover, not what it
    owes: that is not the risk these rules look for."""
    return _CLIENT_LIABILITY.search(sentence) is not None and _FIRM_PARTY.search(sentence) is None


def uncapped_liability(contract: _Contract) -> Iterator[Hit]:
    """Uncapped liability or indemnity (HIGH): one claim can cost more than the whole engagement earns.

    "Unlimited liability", "liable without limitation", "shall not be limited", and a cap that "shall not
    apply to" the indemnities all leave the firm uncapped. "Including, without limitation," is drafting
    boilerplate for "including" and says nothing about liability; and excluding fraud, death or personal
    injury, or gross negligence from a cap is standard (the law forbids limiting those anyway).
    """
    for sentence in contract.sentences:
        if not _LIABILITY.search(sentence.text) or _only_client_liability(sentence.text):
            continue
        text = _BOILERPLATE_INCLUDING.sub(" ", sentence.text)
        excluded = _CAP_DOES_NOT_APPLY.search(text)
        if excluded:
            carved_out = text[excluded.end() :]
            if _INDEMNITY.search(carved_out):
                yield sentence, "the indemnity is carved out of the liability cap: it is uncapped"
            elif not _UNLIMITABLE.search(carved_out):
                yield sentence, "the liability cap does not apply to: " + carved_out.strip(" .")
            continue
        uncapped = _UNCAPPED.search(text)
        if uncapped is None:
            continue
        explicit = re.search(r"\bunlimited\b|\buncapped\b", text, re.IGNORECASE)
        if not explicit and _UNLIMITABLE.search(text[uncapped.start() :]):
            continue
        if _INDEMNITY.search(text):
            yield sentence, "the indemnity is not subject to any cap on liability"
        else:
            yield sentence, "liability is not capped"


_ASSIGNMENT = _Pattern(
    r"\b(?:hereby\s+)?(?:assigns?|assigned|transfers?|transferred|conveys?)\b[^.]*?"
    r"\b(?:right,?\s+title|intellectual\s+property|deliverables|work\s+product|ownership)"
    r"|\b(?:deliverables|work\s+product|intellectual\s+property)\b[^.]*?\b(?:are|is|shall\s+be|will\s+be)\s+"
    r"(?:hereby\s+)?(?:assigned|transferred)\s+to\s+(?:the\s+)?client\b"
    r"|\bworks?\s+made\s+for\s+hire\b"
    r"|\b(?:shall|will)\s+(?:be\s+(?:the\s+)?(?:sole\s+and\s+exclusive\s+|exclusive\s+|sole\s+)?property\s+of"
    r"|vest\s+in|belong\s+to)\s+(?:the\s+)?client\b"
    r"|\bclient\s+(?:shall|will)\s+own\b",
    re.IGNORECASE,
)
_PRE_EXISTING = _Pattern(
    r"\bpre-?\s?existing\b|\bbackground\s+(?:ip|intellectual\s+property|technology|materials)\b"
    r"|\b(?:consultant|firm|supplier)(?:['\u2019]s)?\s+(?:materials|tools|know-how|methodolog\w*)\b"
    r"|\b(?:developed|owned)\s+(?:by\s+\w+\s+)?(?:prior\s+to|before|independently)|\bindependently\s+developed\b",
    re.IGNORECASE,
)
_CARVE_OUT = _Pattern(
    r"\bexcept\b|\bexcluding\b|\bexclusive\s+of\b|\bother\s+than\b|\bsave\s+for\b|\bnotwithstanding\b"
    r"|\b(?:does|shall|will)\s+not\s+(?:include|apply|extend)|\bexcluded\b"
    r"|\bretains?\s+(?!no\b)|\bremains?\s+the\s+(?:sole\s+)?property\b|\breserves?\b",
    re.IGNORECASE,
)


def _has_pre_existing_carve_out(contract: _Contract) -> bool:
    for sentence in contract.sentences:
        if _PRE_EXISTING.search(sentence.text) and _CARVE_OUT.search(sentence.text):
            return True
    return False


def ip_assignment_without_carve_out(contract: _Contract) -> Iterator[Hit]:
    """IP assignment with no carve-out for pre-existing IP (HIGH): assigning "all intellectual property in the
    Deliverables" without excepting the firm's Pre-Existing IP hands a client the methods, tools and templates
    the firm reuses on every engagement. The carve-out may be in any sentence of the contract; "including any
    Pre-Existing IP" is the opposite of one.
    """
    if _has_pre_existing_carve_out(contract):
        return
    for sentence in contract.sentences:
        match = _ASSIGNMENT.search(sentence.text)
        if match is None or _negated(sentence.text, match.start(), window=60):
            continue
        yield (
            sentence,
            "intellectual property is assigned to the client with no carve-out for pre-existing IP",
        )


_CAP = _Pattern(
    r"\b(?:shall|will|may|does|must)\s+not\s+exceed\b|\bnot\s+to\s+exceed\b|\bin\s+no\s+event\b[^.]*?\bexceed"
    r"|\b(?:limited|capped)\s+to\b|\bcap(?:ped)?\s+(?:at|of)\b|\bexceed\b|\bmaximum\s+of\b",
    re.IGNORECASE,
)
_PERCENT = _Pattern(
    rf"(?:(?P<digits>\d+(?:\.\d+)?)\s*(?:%|percent)|(?P<words>{_WORDS})\s+percent)", re.IGNORECASE
)
_MULTIPLE = _Pattern(
    rf"\b(?:(?P<twice>twice)|(?P<times>{NUMBER})\s*(?:times|x)\b)",
    re.IGNORECASE,
)
_WHOLE_CONTRACT_FEES = _Pattern(
    r"\b(?:total\s+|aggregate\s+)?(?:fees|amounts?|charges)\s+(?:paid|payable|received)"
    r"(?:\s+(?:or|and(?:/or)?)\s+(?:paid|payable))?\s+(?:by\s+client\s+)?under\s+(?:this|the)\b"
    r"|\b(?:total\s+)?contract\s+(?:value|price)\b",
    re.IGNORECASE,
)


def _cap_factor(text: str) -> Decimal:
    """The multiple of fees a cap names: ``50%`` -> 0.5, ``twice`` -> 2; 1 when none is written."""
    percent = _PERCENT.search(text)
    if percent:
        value = (
            Decimal(percent["digits"]) if percent["digits"] else Decimal(words_to_number(percent["words"]))
        )
        return value / 100
    multiple = _MULTIPLE.search(text)
    if multiple:
        return Decimal(2) if multiple["twice"] else Decimal(number_value(multiple["times"]))
    return Decimal(1)


def _cap_in_months(text: str, figures: ContractFigures) -> Decimal | None:
    """How many months of fees a cap is worth, or None when it cannot be told (an amount and no figures).

    A cap may name a period of fees, an amount, or the fees of the whole contract; "the lesser of" two of
    them is the smaller, "the greater of" the larger.
    """
    factor = _cap_factor(text)
    measures: list[Decimal] = []
    periods = [d for d in durations_in(text) if d.unit in ("month", "year")]
    if periods and re.search(r"\bfees\b|\bamounts?\b|\bcharges\b|\bpaid\b|\bpayable\b", text, re.IGNORECASE):
        measures.append(periods[0].months * factor)
    amounts = amounts_in(text)
    if amounts and figures.annual_fees:
        measures.append(12 * amounts[0].value / figures.annual_fees)
    if _WHOLE_CONTRACT_FEES.search(text) and not periods and figures.annual_fees and figures.contract_value:
        measures.append(12 * figures.contract_value * factor / figures.annual_fees)
    if not measures:
        return None
    if re.search(r"\bgreater\s+of\b|\bhigher\s+of\b", text, re.IGNORECASE):
        return max(measures)
    return min(measures)


def liability_cap_below_minimum(contract: _Contract) -> Iterator[Hit]:
    """Liability cap below 12 months of fees (MEDIUM, policy): the cap is what the firm can lose on a claim,
    and less than a year's fees is below what its insurance and pricing assume. Read as months: "fees paid in
    the preceding six (6) months", "50% of the fees paid in the preceding twelve months", or a fixed amount
    set against the contract's annual fees.
    """
    minimum = contract.policy.min_liability_cap_months
    for sentence in contract.sentences:
        if not re.search(r"\bliab\w*", sentence.text, re.IGNORECASE) or _only_client_liability(sentence.text):
            continue
        cap = _CAP.search(sentence.text)
        if cap is None:
            continue
        months = _cap_in_months(sentence.text[cap.start() :], contract.figures)
        if months is not None and months < minimum:
            yield (
                sentence,
                f"liability is capped at {_months_text(months)} of fees, below the {minimum} required",
            )


def _months_text(months: Decimal) -> str:
    rounded = months.quantize(Decimal("0.1")).normalize()
    return f"{rounded:f} month" + ("" if rounded == 1 else "s")


_AUTO_RENEWAL = _Pattern(
    r"\b(?:automatically|auto-?)\s*(?:be\s+)?renew\w*|\brenew\w*\s+(?:\w+\s+)?automatically\b"
    r"|\b(?:shall|will)\s+renew\s+for\s+(?:successive|additional|consecutive)\b|\bevergreen\b",
    re.IGNORECASE,
)
_NO_AUTO_RENEWAL = _Pattern(
    r"\b(?:not|never)\s+(?:be\s+)?(?:automatically\s+|auto-?)?renew\w*|\bno\s+automatic\s+renewal\b",
    re.IGNORECASE,
)


def auto_renewal_long_notice(contract: _Contract) -> Iterator[Hit]:
    """Auto-renewal with notice over 60 days (MEDIUM, policy): a long notice window is easy to miss, and a
    missed one commits the firm (and its staff) to another term it may not want on the same rates.
    The notice may be in the renewal sentence or the next one of the same clause.
    """
    limit = contract.policy.max_auto_renewal_notice_days
    for clause in contract.clauses:
        renews = any(_AUTO_RENEWAL.search(s.text) and not _NO_AUTO_RENEWAL.search(s.text) for s in clause)
        if not renews:
            continue
        for sentence in clause:
            if not re.search(r"renew|term\b", sentence.text, re.IGNORECASE):
                continue
            longest = max((d.days for d in notice_periods_in(sentence.text)), default=Decimal(0))
            if longest > limit:
                yield sentence, f"auto-renewal needs {longest:f} days' notice to stop, more than {limit}"


_CONVENIENCE = _Pattern(
    r"\bfor\s+(?:its\s+|their\s+)?convenience\b|\bwithout\s+cause\b|\bfor\s+any\s+(?:or\s+no\s+)?reason\b",
    re.IGNORECASE,
)
_CLIENT_MAY_TERMINATE = _Pattern(
    r"\b(?:client|customer|either\s+party|each\s+party)\s+may\b[^.;]*?\bterminate\b"
    r"|\b(?:client|customer|either\s+party|each\s+party)\s+(?:shall\s+have|has|will\s+have)\s+the\s+right\s+to\s+terminate"
    r"|\bterminated\s+by\s+(?:the\s+)?(?:client|customer|either\s+party)\b",
    re.IGNORECASE,
)
_IMMEDIATE = _Pattern(r"\bimmediately\b|\bat\s+any\s+time\b|\bwith\s+immediate\s+effect\b", re.IGNORECASE)
_PAYS_FOR_WORK = _Pattern(
    r"\b(?:pay|compensate|reimburse)\w*\b[^.]*?\b(?:services|work|fees|expenses|deliverables|time)\b[^.]*?"
    r"\b(?:performed|rendered|completed|done|incurred|accrued|provided|delivered)\b"
    r"|\bpay\w*\b[^.]*?\b(?:through|up\s+to|until|prior\s+to)\s+the\s+(?:effective\s+)?date\s+of\s+termination",
    re.IGNORECASE,
)


def _promises_payment(sentence: Sentence) -> bool:
    match = _PAYS_FOR_WORK.search(sentence.text)
    return match is not None and not _negated(sentence.text, match.start(), window=40)


def termination_for_convenience(contract: _Contract) -> Iterator[Hit]:
    """Client termination for convenience on under 30 days' notice or without payment for work done (MEDIUM,
    policy): staff planned onto the engagement sit idle during a short notice, and a termination that does not
    pay for work already performed turns the firm's receivable into a loss. Payment may be promised in any
    sentence of the clause, or in another section about termination ("Upon termination, Client shall pay for
    Services performed..."); "shall not be required to pay for Services performed" does not promise it.
    """
    minimum = contract.policy.min_termination_notice_days
    paid_on_any_termination = any(
        _promises_payment(s) and re.search(r"\bterminat", s.text, re.IGNORECASE) for s in contract.sentences
    )
    for clause in contract.clauses:
        pays = paid_on_any_termination or any(_promises_payment(s) for s in clause)
        for sentence in clause:
            if not (_CONVENIENCE.search(sentence.text) and _CLIENT_MAY_TERMINATE.search(sentence.text)):
                continue
            notices = notice_periods_in(sentence.text)
            problems = []
            if notices:
                shortest = min(d.days for d in notices)
                if shortest < minimum:
                    problems.append(f"on {shortest:f} days' notice, less than {minimum}")
            elif _IMMEDIATE.search(sentence.text) or not durations_in(sentence.text):
                problems.append("with no notice period")
            if not pays:
                problems.append("without payment for work performed before termination")
            if problems:
                yield sentence, "the client may terminate for convenience " + " and ".join(problems)


_PAYMENT_WITHIN = _Pattern(
    rf"\b(?:pay\w*|paid|due|remit\w*|settle\w*)\b[^.;]*?\b(?:within|in|no\s+later\s+than)\s+"
    rf"(?P<number>{NUMBER})\s*(?:\)\s*)?(?:calendar\s+|business\s+)?days?\b",
    re.IGNORECASE,
)
_NET_TERMS = _Pattern(rf"\bnet\s*-?\s*(?P<number>{NUMBER})(?:\s*days)?", re.IGNORECASE)
_PAYMENT_TERMS_OF = _Pattern(
    rf"\bpayment\s+terms?\b[^.;]*?(?P<number>{NUMBER})\s*(?:calendar\s+)?days\b", re.IGNORECASE
)


# What reading a SOW's text runs: its sentences split, its payment terms read (``compile_patterns``).
_SOW_READING = (_SENTENCE_END, _PAYMENT_WITHIN, _NET_TERMS, _PAYMENT_TERMS_OF)


def payment_terms_days_in(sentence: str) -> list[int]:
    """The payment periods a sentence sets: "within forty-five (45) days", "Net 90", "payment terms of 75 days"."""
    found: list[int] = []
    for pattern in (_PAYMENT_WITHIN, _NET_TERMS, _PAYMENT_TERMS_OF):
        found.extend(number_value(m["number"]) for m in pattern.finditer(sentence))
    return found


def payment_terms_over_limit(contract: _Contract) -> Iterator[Hit]:
    """Payment terms over 60 days (MEDIUM, policy): EU Directive 2011/7/EU caps B2B terms at 60 days unless
    expressly agreed, and a people business pays salaries monthly: long terms are working capital the firm
    lends its client.
    """
    limit = contract.policy.max_payment_terms_days
    for sentence in contract.sentences:
        longest = max(payment_terms_days_in(sentence.text), default=0)
        if longest > limit:
            yield sentence, f"payment is due {longest} days after invoice, more than {limit}"


_SOLICIT = _Pattern(
    r"\bnon-?\s?solicit\w*|\bsolicit\w*|\bhire\b|\bhiring\b|\bemploy\b|\brecruit\w*|\bpoach\w*", re.IGNORECASE
)


def non_solicit_over_limit(contract: _Contract) -> Iterator[Hit]:
    """Non-solicitation over 12 months (MEDIUM, policy): a long restriction on hiring each other's staff is
    harder to enforce and, when it binds the firm, narrows whom it can hire for years.
    """
    limit = contract.policy.max_non_solicit_months
    for sentence in contract.sentences:
        if not _SOLICIT.search(sentence.text):
            continue
        longest = max(
            (d.months for d in durations_in(sentence.text) if d.unit in ("month", "year")), default=Decimal(0)
        )
        if longest > limit:
            yield sentence, f"the non-solicitation lasts {_months_text(longest)}, more than {limit}"


_MFN = _Pattern(
    r"\bmost[\s-]+favou?red[\s-]+(?:nation|customer|client|pricing)\b"
    r"|\bno\s+less\s+favou?rable\s+than\b[^.]*?\b(?:any\s+other|other|similarly\s+situated)\s+(?:clients?|customers?)"
    r"|\b(?:rates|prices|pricing|fees)\b[^.]*?\b(?:lowest|best|most\s+favou?rable)\b[^.]*?"
    r"\b(?:offered|charged|provided|given|available)\s+to\s+any\s+(?:other\s+)?(?:clients?|customers?)"
    r"|\b(?:rates|prices|fees)\b[^.]*?\bno\s+(?:higher|greater)\s+than\b[^.]*?\b(?:any\s+other|other)\s+(?:clients?|customers?)"
    r"|\bshall\s+not\s+charge\b[^.]*?\b(?:higher|greater|more)\b[^.]*?\b(?:any\s+other|other)\s+(?:clients?|customers?)",
    re.IGNORECASE,
)


def most_favoured_nation(contract: _Contract) -> Iterator[Hit]:
    """Most-favoured-nation pricing (MEDIUM, policy): a promise that this client always gets the firm's lowest
    rate lets one discount elsewhere reprice this engagement, and is hard to monitor across engagements.
    """
    for sentence in contract.sentences:
        match = _MFN.search(sentence.text)
        if match and not _negated(sentence.text, match.start()):
            yield sentence, "most-favoured-nation pricing: the client gets the lowest rate given to anyone"


_EXCLUSIVITY = _Pattern(
    r"\bexclusivity\b"
    r"|(?<!non-)(?<!non)\bexclusive\s+(?:provider|supplier|vendor|consultant|advisor|adviser|basis|relationship"
    r"|arrangement|engagement|dealing|right\s+to\s+provide)"
    r"|\bnon-?\s?compet\w*"
    r"|\b(?:shall|will|may)\s+not\b[^.]*?\b(?:provide|perform|offer|render)\b[^.]*?\bservices?\b[^.]*?\bcompet\w*"
    r"|\b(?:shall|will)\s+not\s+compete\b|\brefrain\s+from\b[^.]*?\bcompet\w*",
    re.IGNORECASE,
)


def exclusivity_or_non_compete(contract: _Contract) -> Iterator[Hit]:
    """Exclusivity or non-compete (MEDIUM, policy): a professional-services firm sells the same expertise to
    many clients in an industry; a promise not to serve competitors closes a market. "Exclusive property",
    "exclusive remedy" and "exclusive jurisdiction" are not exclusivity; "non-exclusive" is the opposite.
    """
    for sentence in contract.sentences:
        match = _EXCLUSIVITY.search(sentence.text)
        if match and not _negated(sentence.text, match.start()):
            yield sentence, "an exclusivity or non-compete restriction binds the firm"


_LIQUIDATED = _Pattern(
    r"\bliquidated\s+damages\b|\b(?:delay\s+)?penalt(?:y|ies)\b[^.]*?\bper\s+(?:calendar\s+|business\s+)?(?:day|week)\b"
    r"|\bservice\s+credits?\b",
    re.IGNORECASE,
)
_DOES_NOT_APPLY_AFTER = _Pattern(
    r"^[^.;]{0,40}?\b(?:shall|will|do|does)\s+not\s+(?:apply|be\s+(?:payable|due|applicable|owed))",
    re.IGNORECASE,
)


def liquidated_damages(contract: _Contract) -> Iterator[Hit]:
    """Liquidated damages (MEDIUM, policy): a fixed sum per day of delay is owed whatever the real loss and
    whoever caused the delay, which clients' own late inputs often do.
    """
    for sentence in contract.sentences:
        match = _LIQUIDATED.search(sentence.text)
        if match is None or _negated(sentence.text, match.start()):
            continue
        if _DOES_NOT_APPLY_AFTER.search(sentence.text[match.end() :]):
            continue
        yield sentence, "liquidated damages or penalties are payable by the firm"


_GOVERNING_LAW = _Pattern(
    r"\b(?:governed\s+by|construed\s+(?:in\s+accordance\s+with|under)|interpreted\s+under|subject\s+to)\b"
    r"[^.]*?\blaws?\s+of\s+(?P<jurisdiction>[^.,;()]+)"
    r"|\bgoverning\s+law\s+(?:is|shall\s+be|will\s+be)\s+(?:that\s+of\s+|the\s+laws?\s+of\s+)?(?P<named>[^.,;()]+)"
    r"|\blaws?\s+of\s+(?P<subject>[^.,;()]+?)\s+(?:shall\s+|will\s+)?govern",
    re.IGNORECASE,
)
_JURISDICTION_END = _Pattern(
    r"\s+(?:without|excluding|exclusive|notwithstanding|and\s+the|applicable|regardless|irrespective|as\s+applied"
    r"|in\s+force|that\s+apply|which|including)\b.*$",
    re.IGNORECASE,
)
_JURISDICTION_PREFIX = _Pattern(
    r"^(?:the\s+)?(?:(?:state|commonwealth|province|canton|republic|kingdom|federal\s+republic)\s+of\s+)?(?:the\s+)?",
    re.IGNORECASE,
)


def _jurisdiction_words(name: str) -> list[str]:
    return re.sub(r"[^\w\s]", " ", name.lower()).split()


def _allowed(jurisdiction: str, allow_list: Iterable[str]) -> bool:
    words = " " + " ".join(_jurisdiction_words(jurisdiction)) + " "
    return any(" " + " ".join(_jurisdiction_words(name)) + " " in words for name in allow_list)


def governing_law_not_allowed(contract: _Contract) -> Iterator[Hit]:
    """Governing law outside the allow-list (MEDIUM, policy): a dispute under an unfamiliar law needs foreign
    counsel and makes every other clause harder to predict.
    """
    allow_list = contract.policy.governing_law_allow_list
    for sentence in contract.sentences:
        match = _GOVERNING_LAW.search(sentence.text)
        if match is None:
            continue
        named = match["jurisdiction"] or match["named"] or match["subject"] or ""
        jurisdiction = _JURISDICTION_PREFIX.sub("", _JURISDICTION_END.sub("", named.strip())).strip()
        if jurisdiction and not _allowed(jurisdiction, allow_list):
            yield sentence, f"governed by the laws of {jurisdiction}, which is not on the firm's allow-list"


_INSURANCE = _Pattern(r"\binsurance\b|\binsured\b|\bcoverage\b|\bpolic(?:y|ies)\b", re.IGNORECASE)
_I = re.IGNORECASE
_INSURANCE_LINES: tuple[tuple[InsuranceLine, _Pattern], ...] = (
    (
        "professional_liability",
        _Pattern(r"\bprofessional\s+(?:liability|indemnity)|\berrors\s+(?:and|&)\s+omissions|\bE&O\b", _I),
    ),
    (
        "cyber_liability",
        _Pattern(r"\bcyber\b|\bnetwork\s+security\b|\bprivacy\s+liability\b|\bdata\s+breach\b", _I),
    ),
    (
        "general_liability",
        _Pattern(r"\b(?:commercial\s+)?general\s+liability\b|\bpublic\s+liability\b|\bCGL\b", _I),
    ),
    ("umbrella", _Pattern(r"\bumbrella\b|\bexcess\s+liability\b", _I)),
    ("employers_liability", _Pattern(r"\bemployers?['\u2019]?\s+liability\b", _I)),
    ("workers_compensation", _Pattern(r"\bworkers?['\u2019]?\s+compensation\b", _I)),
)


def _insurance_line_before(text: str, position: int) -> InsuranceLine | None:
    """The line of insurance an amount belongs to: the last one named before it in the sentence."""
    best: tuple[int, InsuranceLine] | None = None
    for line, pattern in _INSURANCE_LINES:
        for m in pattern.finditer(text, 0, position):
            if best is None or m.start() > best[0]:
                best = (m.start(), line)
    return best[1] if best else None


def insurance_above_cover(contract: _Contract) -> Iterator[Hit]:
    """Insurance demands above the firm's cover (MEDIUM, policy): promising cover the firm does not hold is a
    breach from day one, and buying more for one client is a cost the price did not include. An amount is
    read against the line of insurance named before it, per claim, or in the aggregate when it says so; an
    amount under no named line is read against the firm's largest cover; a line the firm does not hold at all
    (absent from its ``insurance_cover``) is a finding whatever the amount.
    """
    cover = contract.policy.insurance_cover
    if not cover:
        return
    for sentence in contract.sentences:
        if not _INSURANCE.search(sentence.text):
            continue
        shortfalls = []
        for amount in amounts_in(sentence.text):
            line = _insurance_line_before(sentence.text, amount.start)
            aggregate = re.match(r"^[^.;,]{0,30}\baggregate\b", sentence.text[amount.end :], re.IGNORECASE)
            if line is not None and line not in cover:
                shortfalls.append(
                    f"{line.replace('_', ' ')} insurance demanded, which the firm does not hold"
                )
                continue
            if line is not None:
                limits = cover[line]
                held = limits.aggregate if aggregate else limits.per_claim
                label = line.replace("_", " ")
            else:
                held = max(limit.aggregate if aggregate else limit.per_claim for limit in cover.values())
                label = "insurance"
            if amount.value > held:
                shortfalls.append(
                    f"{label} of {amount.currency} {amount.value:,.0f} demanded, firm holds {held:,.0f}"
                )
        if shortfalls:
            yield sentence, "; ".join(shortfalls)


RULES: dict[RiskRule, RuleCheck] = {
    "uncapped_liability": uncapped_liability,
    "ip_assignment_without_carve_out": ip_assignment_without_carve_out,
    "liability_cap_below_minimum": liability_cap_below_minimum,
    "auto_renewal_long_notice": auto_renewal_long_notice,
    "termination_for_convenience": termination_for_convenience,
    "payment_terms_over_limit": payment_terms_over_limit,
    "non_solicit_over_limit": non_solicit_over_limit,
    "most_favoured_nation": most_favoured_nation,
    "exclusivity_or_non_compete": exclusivity_or_non_compete,
    "liquidated_damages": liquidated_damages,
    "governing_law_not_allowed": governing_law_not_allowed,
    "insurance_above_cover": insurance_above_cover,
}
RULE_NAMES: tuple[RiskRule, ...] = tuple(RULES)


# ------------------------------------------------------------------------------------------------------------
# Assessment
# ------------------------------------------------------------------------------------------------------------


def find_contract_risks(
    clauses: Sequence[Clause],
    figures: ContractFigures | None = None,
    policy: ContractRiskPolicy | None = None,
) -> list[RiskFinding]:
    """Every risky sentence of the contract, rule by rule in ``RULES`` order, then in document order."""
    policy = policy or ContractRiskPolicy()
    contract = _Contract(
        clauses=tuple(
            tuple(Sentence(c.section, c.heading, text) for text in split_sentences(c.text)) for c in clauses
        ),
        policy=policy,
        figures=figures or ContractFigures(),
    )
    findings = []
    for rule, check in RULES.items():
        if rule in policy.disabled_rules:
            continue
        seen: set[tuple[str, str]] = set()
        for sentence, explanation in check(contract):
            if (sentence.section, sentence.text) in seen:
                continue
            seen.add((sentence.section, sentence.text))
            findings.append(
                RiskFinding(
                    rule=rule,
                    severity=policy.severity_of(rule),
                    section=sentence.section,
                    sentence=sentence.text,
                    explanation=explanation,
                )
            )
    return findings


def assess_contract_risk(
    clauses: Sequence[Clause],
    figures: ContractFigures | None = None,
    policy: ContractRiskPolicy | None = None,
) -> RiskAssessment:
    """The contract's findings, score and level, and whether it must wait for legal review.

    The score counts each rule once, at its severity's points, however many sentences break it: the same
    risk written twice is one risk. The level is the highest severity found, raised to high when the score
    reaches ``escalate_to_high_at_score``.
    """
    policy = policy or ContractRiskPolicy()
    findings = find_contract_risks(clauses, figures, policy)
    rules = {finding.rule: finding.severity for finding in findings}
    score = sum(policy.severity_points[severity] for severity in rules.values())
    level: RiskLevel = max(rules.values(), key=lambda s: _LEVEL_ORDER[s], default="none")
    if findings and score >= policy.escalate_to_high_at_score:
        level = "high"
    return RiskAssessment(
        score=score,
        level=level,
        findings=findings,
        requires_legal_review=_LEVEL_ORDER[level] >= _LEVEL_ORDER[policy.legal_review_from],
    )
