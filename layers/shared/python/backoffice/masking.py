"""Showing a tax id, bank account or routing number without showing it: its last four letters or digits.

The one place that decides how a secret is shown: check reasons, duplicate signals, e-mails, the audit trail and
dumps of read documents write ``****4442`` (``last_four``); the local console's pages write ``•••••4442``
(``CONSOLE_MARK``), the mark its pages and screenshots have always shown.

Free text has no key to say which number is a secret, so two patterns guess, each for its reader:

- ``mask_sensitive_text``, for text read from documents: tax ids (3-2-4 with a dash or a blank, 2-7) and every
  run of 9 to 17 digits, since a routing or account number on a page carries no label the text keeps;
- ``mask_text``, for the console: tax ids and bare 9-digit numbers standing alone, so that order and invoice
  numbers stay readable; account numbers there are masked by their key (``mask``);
- ``mask_for_prompt``, for what is sent to a model (``backoffice.assist``): the document patterns, IBANs, e-mail
  addresses, and the names of the people the caller knows, each replaced by their role.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any, Final

MARK: Final = "****"
CONSOLE_MARK: Final = "•••••"

# Tax ids (SSN/ITIN 3-2-4, EIN 2-7) and runs of 9 or more digits (routing and most account numbers). Shorter
# account numbers are only masked where their key says what they are (``FormField.sensitive``).
_DOCUMENT_SECRET = re.compile(r"(?<!\d)(?:\d{3}[- ]\d{2}[- ]\d{4}|\d{2}-\d{7}|\d{9,17})(?!\d)")
# SSN (123-45-6789), EIN (12-3456789) and any bare 9-digit number.
_CONSOLE_SECRET = re.compile(r"(?<![\w-])(\d{3}-\d{2}-\d{4}|\d{2}-\d{7}|\d{9})(?![\w-])")
# JSON keys (any case or separator: ``taxId``, ``tax-id``, ``routing_number``) whose values are secrets.
_SECRET_KEY = re.compile(
    r"(tax_?id|taxpayer|ssn|social_?security|\bein\b|\btin\b|routing_?number|account_?number|iban)", re.I
)


def last_four(value: object, mark: str = MARK) -> str:
    """``91-1144442`` -> ``****4442``. Only letters and digits count; a value of four or fewer of them shows
    as the mark alone, since its last four would be all of it."""
    significant = [char for char in str(value) if char.isalnum()]
    if len(significant) <= 4:
        return mark
    return mark + "".join(significant[-4:])


def mask_sensitive_text(text: str) -> str:
    """``text`` with every tax-id-like or long digit run shown as its last four digits (``****4442``)."""
    return _DOCUMENT_SECRET.sub(lambda m: last_four(m.group(0)), text)


def mask_text(text: str) -> str:
    """The console's free text with every SSN, EIN or 9-digit number masked (``•••••1907``)."""
    return _CONSOLE_SECRET.sub(lambda m: last_four(m.group(1), CONSOLE_MARK), text)


def _key_tokens(key: str) -> str:
    """``clientTaxId`` / ``client-tax-id`` -> ``client tax_id``-like text the key pattern can match on words."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", key).lower().replace("-", "_")
    return " ".join(spaced.split("_")) + " " + spaced


def is_secret_key(key: str) -> bool:
    """Whether a JSON key names a tax id or a bank number."""
    return bool(_SECRET_KEY.search(_key_tokens(key)))


def mask(value: Any) -> Any:
    """A copy of a JSON-like value with secret keys' values and SSN/EIN-like numbers masked for the console
    (also inside strings that hold JSON)."""
    if isinstance(value, Mapping):
        return {
            str(k): (
                last_four(v, CONSOLE_MARK)
                if is_secret_key(str(k)) and v not in (None, "") and not isinstance(v, (Mapping, list, tuple))
                else mask(v)
            )
            for k, v in value.items()
        }
    if isinstance(value, (list, tuple)):
        return [mask(v) for v in value]
    if isinstance(value, str):
        stripped = value.strip()
        if stripped[:1] in ("{", "[") and len(stripped) > 1:
            try:
                return json.dumps(mask(json.loads(stripped)), ensure_ascii=False)
            except ValueError:
                pass
        return mask_text(value)
    if isinstance(value, int) and not isinstance(value, bool) and len(str(abs(value))) == 9:
        return last_four(value, CONSOLE_MARK)
    return value


def masked_json(raw: str | None, limit: int = 20000) -> str:
    """A step's input or output (a JSON string) pretty-printed with secrets masked; cut at ``limit`` characters."""
    if raw is None:
        return ""
    try:
        text = json.dumps(mask(json.loads(raw)), indent=2, ensure_ascii=False, default=str)
    except ValueError:
        text = mask_text(raw)
    return text if len(text) <= limit else text[:limit] + f"\n… ({len(text) - limit} more characters)"


# -- prompts (issue #23) -----------------------------------------------------------------------------------------
# What leaves the account in a prompt to a model: tax ids and bank numbers (as in documents, plus IBANs), e-mail
# addresses and the names of the people the caller knows the text may name, each replaced by their role.

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# An IBAN: two letters, two check digits, then 11 to 30 letters and digits, printed in groups of four or not.
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]{4}){2,7}(?:[ ]?[A-Z0-9]{1,4})?\b")
EMAIL_PLACEHOLDER: Final = "[e-mail]"
# A number a label says is a tax id or a bank number, whatever its length or grouping: "Account number: 12345678",
# "Acct 0012-3456-7890", "EIN 12 3456789", "Routing no. 021000021", "A/C # 5530 0177".
_LABELLED_NUMBER = re.compile(
    r"(?P<label>\b(?:account|acct|a/c|routing|(?-i:ABA|EIN|SSN|ITIN|TIN)|tax\s*id(?:entification)?|iban|vat|swift"
    r"|sort\s*code)\b[\s.:#-]*(?:(?:number|no|num)\b[\s.:#-]*)?)(?P<number>\d[\d -]{2,30}\d)",
    re.IGNORECASE,
)
# A number printed in three or more groups of three to six digits (one separator, a space or a dash) holding 9 or
# more digits in all: "4567 8901 2345", "0012-3456-7890". Dates and times (groups of two), two-part references
# ("2026 000123") and an amount with a decimal part ("123 456 789,00") are left alone.
_GROUPED_DIGITS = re.compile(r"(?<![\d-])\d{3,6}(?P<sep>[ -])\d{3,6}(?:(?P=sep)\d{3,6}){1,4}(?![\d-]|[.,]\d)")


def _mask_grouped(match: re.Match[str]) -> str:
    text = match.group(0)
    return last_four(text) if sum(char.isdigit() for char in text) >= 9 else text


def _name_pattern(name: str) -> re.Pattern[str] | None:
    words = [re.escape(word) for word in name.split() if word]
    if not words:
        return None
    return re.compile(r"(?<!\w)" + r"\s+".join(words) + r"(?!\w)", re.IGNORECASE)


def mask_for_prompt(
    text: str, known_people: Mapping[str, str] | None = None, known_names: Mapping[str, str] | None = None
) -> str:
    """``text`` as it may be sent to a model: each known person's full name, then their surname alone (of three
    letters or more), replaced by their role; e-mail addresses by ``[e-mail]``; IBANs, tax ids, digit runs of 9 to
    17, numbers a label names as an account, routing or tax number, and digit groups of 9 digits or more by their
    last four (``****4442``). Over-masking a word that happens to be a surname is the price of never sending one."""
    masked = text
    people = sorted((known_people or {}).items(), key=lambda item: -len(item[0]))
    # ``known_names``: a name replaced in full only (a vendor that may be a sole proprietor: "Harbor & Pine LLC"
    # must not turn every "LLC" of a document into its role).
    whole = sorted([*(known_names or {}).items(), *people], key=lambda item: -len(item[0]))
    for name, role in whole:
        pattern = _name_pattern(name)
        if pattern is not None:
            masked = pattern.sub(role, masked)
    for name, role in people:
        parts = name.split()
        surname = _name_pattern(parts[-1]) if len(parts) > 1 and len(parts[-1]) >= 3 else None
        if surname is not None:
            masked = surname.sub(role, masked)
    masked = _EMAIL.sub(EMAIL_PLACEHOLDER, masked)
    masked = _IBAN.sub(lambda m: last_four(m.group(0)), masked)
    masked = _LABELLED_NUMBER.sub(lambda m: m.group("label") + last_four(m.group("number")), masked)
    masked = _GROUPED_DIGITS.sub(_mask_grouped, masked)
    return mask_sensitive_text(masked)


def mask_prompt_value(
    value: Any, known_people: Mapping[str, str] | None = None, known_names: Mapping[str, str] | None = None
) -> Any:
    """A copy of a JSON-like value for a prompt: every string through ``mask_for_prompt``, and the value of a key
    naming a tax id or bank number as its last four whatever it looks like."""
    if isinstance(value, Mapping):
        return {
            str(k): (
                last_four(v)
                if is_secret_key(str(k)) and v not in (None, "") and not isinstance(v, (Mapping, list, tuple))
                else mask_prompt_value(v, known_people, known_names)
            )
            for k, v in value.items()
        }
    if isinstance(value, (list, tuple)):
        return [mask_prompt_value(v, known_people, known_names) for v in value]
    if isinstance(value, str):
        return mask_for_prompt(value, known_people, known_names)
    return value
