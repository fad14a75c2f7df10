"""The summary rubric, checked by rules: what makes an approval summary acceptable, whoever wrote it.

Used twice: the Bedrock adapter refuses a summary that breaks it (and asks once more, then falls back to the
template), and ``backoffice ai eval --task summaries`` scores every adapter with it.

1. at most 120 words;
2. every fact present (``ApprovalContext.facts``: the request, each amount as ``USD 184,000.00``, each risk type in
   words, each flagged line), compared without case;
3. no invented amount: every amount written with a currency (``USD 12,500.00``, ``$12,500``, ``EUR 9k``) is one of
   the context's, or one quoted in its risk sentences and anomaly reasons;
4. both outcomes said: the words "approv" and "reject" appear.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from backoffice.assist.models import SUMMARY_MAX_WORDS, ApprovalContext, word_count

_CURRENCY = r"USD|EUR|GBP|CAD|AUD|CHF|JPY|INR|US\$|\$|€|£"
_AMOUNT = re.compile(
    rf"(?:{_CURRENCY})\s?(?P<number>\d{{1,3}}(?:,\d{{3}})+(?:\.\d+)?|\d+(?:\.\d+)?)(?:\s*(?P<scale>million|thousand|m|k)\b)?",
    re.IGNORECASE,
)
_SCALE = {"million": 1_000_000, "m": 1_000_000, "thousand": 1000, "k": 1000}


def amounts_in(text: str) -> set[Decimal]:
    """The values of the amounts written with a currency in ``text``."""
    found: set[Decimal] = set()
    for match in _AMOUNT.finditer(text):
        try:
            value = Decimal(match["number"].replace(",", ""))
        except InvalidOperation:
            continue
        found.add((value * _SCALE.get((match["scale"] or "").lower(), 1)).normalize())
    return found


def allowed_amounts(context: ApprovalContext) -> set[Decimal]:
    quoted = " ".join(
        [r.sentence for r in context.risks] + [reason.text for a in context.anomalies for reason in a.reasons]
    )
    return {a.amount.normalize() for a in context.amounts} | amounts_in(quoted) | amounts_in(context.title)


def summary_problems(context: ApprovalContext, summary: str) -> list[str]:
    """What the summary breaks of the rubric, one line each; empty when it passes."""
    problems = []
    words = word_count(summary)
    if words > SUMMARY_MAX_WORDS:
        problems.append(f"{words} words, more than {SUMMARY_MAX_WORDS}")
    lowered = summary.lower()
    problems += [f"missing fact: {fact}" for fact in context.facts() if fact.lower() not in lowered]
    invented = sorted(amounts_in(summary) - allowed_amounts(context))
    problems += [f"amount not in the facts: {amount:,f}" for amount in invented]
    if "approv" not in lowered or "reject" not in lowered:
        problems.append("does not say what approving and rejecting do")
    return problems


__all__ = ["allowed_amounts", "amounts_in", "summary_problems"]
