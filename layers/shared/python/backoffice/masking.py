"""Showing a tax id, bank account or routing number without showing it: its last four letters or digits.

The one place that decides how a secret is shown: check reasons, duplicate signals, e-mails, the audit trail and
dumps of read documents write ``****4442`` (``last_four``); the local console's pages write ``•••••4442``
(``CONSOLE_MARK``), the mark its pages and screenshots have always shown.

Free text has no key to say which number is a secret, so two patterns guess, each for its reader:

- ``mask_sensitive_text``, for text read from documents: tax ids (3-2-4 with a dash or a blank, 2-7) and every
  run of 9 to 17 digits, since a routing or account number on a page carries no label the text keeps;
- ``mask_text``, for the console: tax ids and bare 9-digit numbers standing alone, so that order and invoice
  numbers stay readable; account numbers there are masked by their key (``mask``).
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
