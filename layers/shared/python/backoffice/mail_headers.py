"""Header values built from what others typed (an opportunity, account or vendor name) made safe to send.

A name from the CRM or a vendor's form may hold CR/LF: in an e-mail header that is header injection
(``"\\r\\nBcc: x@evil"``), which Python's ``email`` package refuses with a ValueError, failing the case at the
e-mail step. Every line break (CR, LF, NEL, the Unicode line and paragraph separators, vertical tab, form feed)
and every other control character (NUL, tab, C0 and C1) becomes a space; the bidirectional overrides that make a
subject read differently from what it holds are dropped; runs of spaces collapse. What a person typed is kept
unchanged on the audit trail of the step that sent the mail, so nothing is lost by sanitizing.
"""

from __future__ import annotations

import re
import unicodedata

# Bidirectional embeddings, overrides and isolates (U+202A..U+202E, U+2066..U+2069).
_BIDI = dict.fromkeys([*range(0x202A, 0x202F), *range(0x2066, 0x206A)])
_SPACES = re.compile(r"\s+")
# SNS refuses a Subject over 100 characters, with line breaks or control characters, or that is not ASCII.
SNS_SUBJECT_MAX = 99


def _is_break_or_control(char: str) -> bool:
    return unicodedata.category(char) in ("Cc", "Zl", "Zp")


def header_value(value: str) -> str:
    """``value`` on one line with no control characters: safe as an e-mail header (subject, display name)."""
    cleaned = "".join(" " if _is_break_or_control(c) else c for c in value.translate(_BIDI))
    return _SPACES.sub(" ", cleaned).strip()


def sns_subject(value: str) -> str:
    """``value`` as SNS takes a Subject: one line, printable ASCII (accents folded), under 100 characters."""
    folded = unicodedata.normalize("NFKD", header_value(value))
    ascii_only = "".join(c for c in folded if " " <= c <= "~")
    return _SPACES.sub(" ", ascii_only).strip()[:SNS_SUBJECT_MAX] or "Back-office notification"
