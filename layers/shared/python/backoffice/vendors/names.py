"""Party names in comparable form: the W-9 against the request, the bank letter, the certificate, the
sanctions list and the vendor master all spell one company differently.

"Harbor & Pine Facilities, L.L.C.", "HARBOR AND PINE FACILITIES LLC" and "Harbor and Pine Facilities" are one
vendor; what tells them apart is case, punctuation, diacritics and the legal form, none of which says who the
party is. ``comparable_name`` removes exactly those; ``name_similarity`` then scores what is left.
"""

from __future__ import annotations

import re
import unicodedata

# Legal forms, written as they read once periods are dropped ("L.L.C." -> "llc", "S.A." -> "sa"). Removed
# only at the end of a name, where the form is written, so that a name such as "SA Recycling" keeps its "SA".
LEGAL_SUFFIXES: frozenset[str] = frozenset(
    """
    inc incorporated corp corporation co company cos llc llp lllp lp ltd limited plc pllc pc pa
    gmbh mbh ag kg kgaa ug se sa sas sarl srl spa sl slu bv nv cv oy oyj ab as asa aps
    pty pte kk lda ltda sdn bhd tbk fze fzco fzc fz dmcc
    ooo oao zao pao ao jsc ojsc cjsc pjsc tov
    """.split()  # noqa: SIM905 - a word list reads better as words
)
# Russian and Ukrainian legal forms come first ("OOO Romashka"), as does an English article.
LEGAL_PREFIXES: frozenset[str] = frozenset(
    {"the", "ooo", "oao", "zao", "pao", "jsc", "ojsc", "cjsc", "pjsc", "tov"}
)

_DROPPED = re.compile(r"[.'\u2019`]")  # "L.L.C." -> "LLC", "O'Neil" -> "ONeil": no word boundary added
_SEPARATORS = re.compile(r"[^\w]+|_")


def fold(text: str) -> str:
    """Lower case without diacritics or punctuation: ``"Société Générale-Est"`` -> ``"societe generale est"``."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(char for char in decomposed if not unicodedata.combining(char))
    plain = plain.replace("&", " and ").casefold()
    plain = _DROPPED.sub("", plain)
    return " ".join(_SEPARATORS.sub(" ", plain).split())


def individual_in_reading_order(name: str) -> str:
    """``"VARGAS MONTERO, Esteban"`` -> ``"Esteban VARGAS MONTERO"``: the order in which a person writes it.

    OFAC writes individuals ``LAST, First``; a vendor request writes ``First Last``. A name with no comma, or
    with more than one, is left as it is since its order cannot be known.
    """
    if name.count(",") != 1:
        return name
    last, first = (part.strip() for part in name.split(","))
    return f"{first} {last}".strip()


def strip_legal_form(tokens: list[str]) -> list[str]:
    """Removes legal forms from the end (and the few written first) while a name would still be left."""
    words = list(tokens)
    while len(words) > 1 and words[-1] in LEGAL_SUFFIXES:
        words.pop()
    while len(words) > 1 and words[0] in LEGAL_PREFIXES:
        words.pop(0)
    return words


def comparable_name(name: str, *, individual: bool = False) -> str:
    """The name as compared everywhere in vendor onboarding: folded, in reading order, legal form removed."""
    if individual:
        name = individual_in_reading_order(name)
    return " ".join(strip_legal_form(fold(name).split()))


# "Ingrid Fennimore DBA Fennimore Translation Services" names the owner and the trade name: either may be
# the one another document uses.
_TRADE_NAME_MARKER = re.compile(r"\s(?:dba|d b a|doing business as|trading as)\s")


def name_variants(name: str) -> list[str]:
    """The comparable names a written name stands for: itself, or each side of a "DBA"."""
    parts = _TRADE_NAME_MARKER.split(f" {fold(name)} ")
    return [variant for part in parts if (variant := comparable_name(part))]


def name_similarity(first: str, second: str) -> float:
    """0 to 100: how alike two party names are once made comparable; word order does not count.

    Token-sort ratio rather than token-set ratio: "Acme" against "Acme Holdings" must not score 100, since a
    shorter name contained in a longer one is often a different company of the same group. A name written
    with "DBA" scores as the better of its two sides.
    """
    from rapidfuzz import fuzz  # here, not at cold start: a handler that never compares names skips it

    best = 0.0
    for a in name_variants(first):
        for b in name_variants(second):
            best = max(best, 100.0 if a == b else float(fuzz.token_sort_ratio(a, b)))
    return best


def best_name_match(name: str, candidates: list[str]) -> tuple[str | None, float]:
    """The candidate most like ``name`` and its score (``(None, 0.0)`` when there is none)."""
    best: tuple[str | None, float] = (None, 0.0)
    for candidate in candidates:
        score = name_similarity(name, candidate)
        if score > best[1]:
            best = (candidate, score)
    return best
