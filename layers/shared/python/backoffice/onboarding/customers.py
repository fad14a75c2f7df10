"""Customer master data: is the client of a won deal already a customer in the ERP, or a new one?

A duplicate customer is expensive long after onboarding: invoices split across two records, credit limits
checked against half the exposure, dunning sent twice. So the decision is conservative. A tax id settles it;
otherwise the legal name AND the address must both match for "existing"; anything close to a customer is
sent to a person ("review"), and only a client like no existing customer is created.

Names are compared without what does not say who the party is: case, punctuation, diacritics and the legal
form ("Contoso Pharmaceuticals, L.L.C." and "CONTOSO PHARMACEUTICALS LLC" are one company).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Sequence
from typing import Literal

from pydantic import ConfigDict, Field, SecretStr, field_validator

from backoffice.models import Address, Client, last4
from backoffice.models.envelope import JsonModel, Model

# Legal forms as they read once periods are dropped ("L.L.C." -> "llc", "S.A." -> "sa").
# fmt: off
DEFAULT_LEGAL_SUFFIXES: tuple[str, ...] = (
    "inc", "incorporated", "llc", "ltd", "limited", "gmbh", "ag", "kg", "sa", "sas", "sarl", "srl", "spa", "corp",
    "corporation", "co", "company", "llp", "lp", "plc", "bv", "nv", "pty", "pte", "ab", "oy", "as", "aps", "kk",
    "se",
)
# fmt: on

# Street words written in full or abbreviated, read as one spelling.
_ADDRESS_WORDS = {
    "street": "st",
    "avenue": "ave",
    "road": "rd",
    "boulevard": "blvd",
    "drive": "dr",
    "lane": "ln",
    "place": "pl",
    "square": "sq",
    "court": "ct",
    "suite": "ste",
    "floor": "fl",
    "building": "bldg",
    "north": "n",
    "south": "s",
    "east": "e",
    "west": "w",
    "strasse": "str",
    "straße": "str",
}


class CustomerMatchPolicy(JsonModel):
    """How alike a client must be to an ERP customer to be that customer, or to need a person to look."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # A name this alike (0-100, on normalized names) to a customer's is a possible duplicate.
    review_name_score: float = Field(default=75.0, ge=0, le=100)
    # Two street lines this alike, with the same numbers, in the same city and country, are one address.
    address_match_score: float = Field(default=90.0, ge=0, le=100)
    legal_suffixes: tuple[str, ...] = DEFAULT_LEGAL_SUFFIXES
    # The token-set ratio scores a name with a word more ("Northwind Logistics Group") at 100 and an
    # abbreviated one ("Contoso Pharma") near 76: the safe side, since a missed duplicate costs more than a look,
    # while two companies sharing only a first word ("Northwind Traders") stay below 75. WRatio finds more
    # near names (and more namesakes); the token-sort ratio fewer.
    name_scorer: Literal["token_set_ratio", "token_sort_ratio", "WRatio"] = "token_set_ratio"

    @field_validator("legal_suffixes")
    @classmethod
    def _lower_case(cls, suffixes: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(_fold(suffix).replace(" ", "") for suffix in suffixes if suffix.strip())


class MatchDecision(Model):
    """``existing``: use ``customer_id``; ``create``: a new customer; ``review``: a person picks among
    ``candidate_ids`` (``customer_id`` is the likeliest) or confirms a new customer.

    ``score`` (0-100) is how alike the best candidate is: 100 for the same tax id or the same normalized legal
    name, the name score otherwise. Reasons never quote a tax id, only its last four.
    """

    model_config = ConfigDict(frozen=True)

    kind: Literal["existing", "create", "review"]
    customer_id: str | None = None
    score: float
    reasons: list[str]
    candidate_ids: list[str] = Field(default_factory=list)


# ------------------------------------------------------------------------------------------------------------
# Normal forms
# ------------------------------------------------------------------------------------------------------------

_DROPPED = re.compile(r"[.'\u2019`]")  # "L.L.C." -> "llc" with no space left inside
_SEPARATORS = re.compile(r"[^\w]+|_")


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.replace("ß", "ss"))
    plain = "".join(char for char in decomposed if not unicodedata.combining(char))
    plain = _DROPPED.sub("", plain.replace("&", " and ").casefold())
    return " ".join(_SEPARATORS.sub(" ", plain).split())


def normalize_legal_name(name: str, legal_suffixes: Sequence[str] = DEFAULT_LEGAL_SUFFIXES) -> str:
    """``"Contoso Pharmaceuticals, L.L.C."`` -> ``"contoso pharmaceuticals"``.

    Legal forms are removed from the end only (where they are written), and never the last word left, so that
    "SA Recycling" keeps its "SA" and "Company" stays a name. "The" at the start goes too.
    """
    suffixes = set(legal_suffixes)
    words = _fold(name).split()
    while len(words) > 1 and (words[-1] in suffixes or (words[-1] == "and" and len(words) > 2)):
        words.pop()
    if len(words) > 1 and words[0] == "the":
        words.pop(0)
    return " ".join(words)


def creation_claim_key(client: Client, policy: CustomerMatchPolicy | None = None) -> str:
    """What two cases about to create the same customer share, whatever their CRM account: the normalized legal
    name, by which the matcher relates customers (the same name is an existing customer or a person's review),
    hashed to a fixed length. The match-or-create step holds it while it looks and creates."""
    name = normalize_legal_name(client.customer_name, (policy or CustomerMatchPolicy()).legal_suffixes)
    return "customer#" + hashlib.sha256(name.encode()).hexdigest()[:32]


def normalize_street(address: Address) -> str:
    """The street lines in one spelling: ``"100 Main Street, Suite 4"`` -> ``"100 main st ste 4"``."""
    lines = " ".join(part for part in (address.line1, address.line2) if part)
    return " ".join(_ADDRESS_WORDS.get(word, word) for word in _fold(lines).split())


def normalize_tax_id(tax_id: SecretStr) -> str:
    """Letters and digits only, upper case: ``"91-1144442"`` -> ``"911144442"``."""
    return re.sub(r"[^0-9A-Za-z]", "", tax_id.get_secret_value()).upper()


def _same_tax_id(first: SecretStr | None, second: SecretStr | None) -> bool | None:
    """True or False when both are known; None when either is missing.

    An EU VAT number is written with or without its country prefix ("DE136695976" and "136695976").
    """
    if first is None or second is None:
        return None
    a, b = normalize_tax_id(first), normalize_tax_id(second)
    if not a or not b:
        return None
    if a == b:
        return True
    return (a[:2].isalpha() and a[2:] == b) or (b[:2].isalpha() and b[2:] == a)


def address_score(first: Address | None, second: Address | None) -> float | None:
    """0-100 for two addresses; 0 in different cities, countries or postal codes; None when one is missing."""
    if first is None or second is None:
        return None
    if first.country != second.country or _fold(first.city) != _fold(second.city):
        return 0.0
    if first.postal_code and second.postal_code and _fold(first.postal_code) != _fold(second.postal_code):
        return 0.0
    a, b = normalize_street(first), normalize_street(second)
    if a == b:
        return 100.0
    # "108 Main St" is not "100 Main St" however alike the text: house and suite numbers must agree.
    if re.findall(r"\d+", a) != re.findall(r"\d+", b):
        return 0.0
    from rapidfuzz import fuzz  # here, not at cold start: only a match compares addresses

    return float(fuzz.token_sort_ratio(a, b))


def name_score(first: str, second: str, policy: CustomerMatchPolicy) -> float:
    """0-100 for two legal names once normalized; 100 only when the normal forms are equal."""
    a = normalize_legal_name(first, policy.legal_suffixes)
    b = normalize_legal_name(second, policy.legal_suffixes)
    if not a or not b:
        return 0.0
    if a == b:
        return 100.0
    from rapidfuzz import fuzz  # here, not at cold start: only a match compares names

    scorer = {
        "WRatio": fuzz.WRatio,
        "token_set_ratio": fuzz.token_set_ratio,
        "token_sort_ratio": fuzz.token_sort_ratio,
    }
    # A near name never scores as high as an equal one.
    return min(float(scorer[policy.name_scorer](a, b)), 99.0)


# ------------------------------------------------------------------------------------------------------------
# The decision
# ------------------------------------------------------------------------------------------------------------


def match_customer(
    incoming: Client,
    existing: Sequence[Client],
    policy: CustomerMatchPolicy | None = None,
) -> MatchDecision:
    """Decides whether ``incoming`` (the CRM's account of the won deal) is one of the ERP's ``existing``
    customers: same tax id -> existing; same normalized legal name and address -> existing; a near name, or
    the same name at another address -> review; otherwise create. Deterministic: ties go to the lower id.
    """
    policy = policy or CustomerMatchPolicy()
    customers = sorted(existing, key=lambda customer: customer.id)

    same_tax_id = [c for c in customers if _same_tax_id(incoming.tax_id, c.tax_id)]
    if same_tax_id:
        return _by_tax_id(incoming, same_tax_id)

    scored = []
    for customer in customers:
        names = name_score(incoming.customer_name, customer.customer_name, policy)
        address = address_score(incoming.address, customer.address)
        scored.append((names, address, customer))
    scored.sort(key=lambda item: (-item[0], -(item[1] or 0.0), item[2].id))

    same_name = [item for item in scored if item[0] == 100.0]
    if same_name:
        return _by_name(incoming, same_name, policy)

    near = [item for item in scored if item[0] >= policy.review_name_score]
    if near:
        best_score, _, best = near[0]
        return MatchDecision(
            kind="review",
            customer_id=best.id,
            score=best_score,
            reasons=[
                f"{incoming.customer_name!r} is close to ERP customer {c.id} {c.customer_name!r} "
                f"(name score {names:.0f})"
                for names, _, c in near
            ],
            candidate_ids=[c.id for _, _, c in near],
        )

    best_score = scored[0][0] if scored else 0.0
    return MatchDecision(
        kind="create",
        customer_id=None,
        score=best_score,
        reasons=[
            f"no ERP customer has this tax id or a name like {incoming.customer_name!r} "
            f"(best name score {best_score:.0f}, review from {policy.review_name_score:.0f})"
        ],
    )


def _by_tax_id(incoming: Client, same_tax_id: list[Client]) -> MatchDecision:
    shown = last4(incoming.tax_id)
    if len(same_tax_id) > 1:
        return MatchDecision(
            kind="review",
            customer_id=None,
            score=100.0,
            reasons=[f"{len(same_tax_id)} ERP customers share the tax id {shown}: merge them or pick one"],
            candidate_ids=[c.id for c in same_tax_id],
        )
    [customer] = same_tax_id
    if customer.disabled:
        return MatchDecision(
            kind="review",
            customer_id=customer.id,
            score=100.0,
            reasons=[
                f"ERP customer {customer.id} has the tax id {shown} but is disabled: reactivate it or not"
            ],
            candidate_ids=[customer.id],
        )
    reasons = [f"same tax id {shown} as ERP customer {customer.id} {customer.customer_name!r}"]
    if customer.is_frozen:
        reasons.append(f"ERP customer {customer.id} is frozen")
    return MatchDecision(kind="existing", customer_id=customer.id, score=100.0, reasons=reasons)


def _by_name(
    incoming: Client,
    same_name: list[tuple[float, float | None, Client]],
    policy: CustomerMatchPolicy,
) -> MatchDecision:
    """The client's legal name is an ERP customer's: the address (and a tax id on both sides) decide."""
    candidate_ids = [c.id for _, _, c in same_name]
    confirmed = [
        c
        for _, address, c in same_name
        if address is not None
        and address >= policy.address_match_score
        and _same_tax_id(incoming.tax_id, c.tax_id) is not False
    ]
    if len(confirmed) == 1 and not confirmed[0].disabled:
        [customer] = confirmed
        reasons = [f"same legal name and address as ERP customer {customer.id} {customer.customer_name!r}"]
        if customer.is_frozen:
            reasons.append(f"ERP customer {customer.id} is frozen")
        return MatchDecision(kind="existing", customer_id=customer.id, score=100.0, reasons=reasons)

    reasons = []
    for _, address, customer in same_name:
        label = f"ERP customer {customer.id} {customer.customer_name!r} has the same legal name"
        if _same_tax_id(incoming.tax_id, customer.tax_id) is False:
            reasons.append(f"{label} but another tax id")
        elif address is None:
            reasons.append(f"{label}; an address is missing, so it cannot be confirmed")
        elif address < policy.address_match_score:
            reasons.append(f"{label} at another address (address score {address:.0f})")
        elif customer.disabled:
            reasons.append(f"{label} and address but is disabled")
        else:
            reasons.append(f"{label} and address")
    if len(confirmed) > 1:
        reasons.append("several ERP customers match: they may be duplicates of each other")
    return MatchDecision(
        kind="review",
        customer_id=same_name[0][2].id,
        score=100.0,
        reasons=reasons,
        candidate_ids=candidate_ids,
    )
