"""What the assistant is given and what it suggests: one typed input and one typed suggestion per use.

Every suggestion carries where it came from (``source``: the local rules or Bedrock, ``model_id``, ``prompt_id``)
and, when Bedrock was asked but the local rules answered, why (``fallback_reason``). A suggestion recommends: a
person or a rule still decides, and nothing here has a field that could approve, block or pay anything.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Literal

from pydantic import ConfigDict, Field, field_validator

from backoffice.models.envelope import JsonModel

AssistUse = Literal["approval_summary", "clause_detection", "document_classification", "anomaly_explanation"]
ASSIST_USES: tuple[AssistUse, ...] = (
    "approval_summary",
    "clause_detection",
    "document_classification",
    "anomaly_explanation",
)
Source = Literal["local", "bedrock"]
# The contract-risk rule types (onboarding.contract_risk.RiskRule, kept equal by a test: this package imports no
# workflow), what the rules cannot name ("other_nonstandard") and a clause nobody needs to read twice ("standard").
ClauseLabel = Literal[
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
    "other_nonstandard",
    "standard",
]
CLAUSE_LABELS: tuple[ClauseLabel, ...] = ClauseLabel.__args__  # type: ignore[attr-defined]
RISK_CLAUSE_LABELS: tuple[ClauseLabel, ...] = tuple(label for label in CLAUSE_LABELS if label != "standard")
# extraction.document_types.DOCUMENT_TYPES and a document none of them is.
DocumentLabel = Literal["w9", "coi", "bank_letter", "invoice", "sow", "other"]
DOCUMENT_LABELS: tuple[DocumentLabel, ...] = ("w9", "coi", "bank_letter", "invoice", "sow", "other")

SUMMARY_MAX_WORDS = 120
_WORD = re.compile(r"\S+")


def word_count(text: str) -> int:
    return len(_WORD.findall(text))


class _Input(JsonModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AssistCase(_Input):
    """Whose case a call is for (the audit record's case, workflow and step) and the people the input may name:
    ``known_people`` maps each name to the role that replaces it before a prompt is written
    (``{"Dana Whitfield": "the requester"}``)."""

    case_id: str = Field(min_length=1)
    workflow: str = Field(min_length=1)
    step: str = Field(min_length=1)
    execution_arn: str | None = None
    known_people: dict[str, str] = Field(default_factory=dict)
    # Names replaced in full only, by their role (an organisation that may be a person: a vendor): no surname rule.
    known_names: dict[str, str] = Field(default_factory=dict)


# -- inputs ------------------------------------------------------------------------------------------------------


class Amount(_Input):
    """One amount the approver is asked about: ``Amount(label="total fees", amount=Decimal("48000"), currency="USD")``."""

    label: str
    amount: Decimal
    currency: str = Field(min_length=3, max_length=3)

    def text(self) -> str:
        """As summaries write it, and as the rubric looks for it: ``USD 48,000.00``."""
        return f"{self.currency} {self.amount:,.2f}"


class RiskFact(_Input):
    """A risk found by a rule: its type (``uncapped_liability``), severity and the sentence it was found in."""

    label: str
    severity: str = "medium"
    sentence: str = ""


class AnomalyReason(_Input):
    """Why a line was flagged (anomaly.scored.Reason): rule (``TE4``), check (``receipt_missing``), the reviewer's
    sentence, and what the check means in plain words (the anomaly policy's description of it), when known."""

    rule: str
    check: str
    text: str
    meaning: str | None = None
    kind: Literal["violation", "signal"] | None = None


class AnomalyFact(_Input):
    """A flagged line and its reasons: ``subject`` names it as the reviewer knows it ("expense line 3: lodging")."""

    subject: str
    reasons: tuple[AnomalyReason, ...] = ()


class ApprovalContext(_Input):
    """What an approver is asked: the request, its amounts, the risks with their sentences, the anomalies with their
    reasons, and what approving and rejecting do. Names of people belong in ``AssistCase.known_people``, which the
    governance replaces with roles before any prompt is written."""

    title: str = Field(min_length=1)
    workflow: str = ""
    amounts: tuple[Amount, ...] = ()
    risks: tuple[RiskFact, ...] = ()
    anomalies: tuple[AnomalyFact, ...] = ()
    on_approve: str = Field(min_length=1)
    on_reject: str = Field(min_length=1)

    def facts(self) -> list[str]:
        """The facts a summary must carry (the rubric's list): the request, each amount as written, each risk type
        and each flagged line."""
        return [
            self.title,
            *(amount.text() for amount in self.amounts),
            *(risk_words(risk.label) for risk in self.risks),
            *(anomaly.subject for anomaly in self.anomalies),
        ]


class DocumentText(_Input):
    """A document's first page as text (masked before it leaves), its file name and the slot it was uploaded to."""

    text: str
    file_name: str | None = None
    declared_type: str | None = None


class AnomalyContext(_Input):
    """One flagged line for the exception reviewer."""

    line: AnomalyFact
    amount: Amount | None = None


# -- suggestions -------------------------------------------------------------------------------------------------


class Suggestion(JsonModel):
    """Where a suggestion came from. ``fallback_reason``: Bedrock was asked and the local rules answered (why)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    source: Source = "local"
    model_id: str = "local-rules"
    prompt_id: str
    fallback_reason: str | None = None

    @property
    def author(self) -> str:
        """Who wrote it, as people are told beside it: "the firm's rules", or the model marked as AI."""
        return "the firm's rules" if self.source == "local" else f"{self.model_id} (AI)"


class ApprovalSummary(Suggestion):
    summary: str = Field(min_length=1)
    facts_used: tuple[str, ...] = ()

    @field_validator("summary")
    @classmethod
    def _at_most_120_words(cls, summary: str) -> str:
        if word_count(summary) > SUMMARY_MAX_WORDS:
            raise ValueError(f"a summary has at most {SUMMARY_MAX_WORDS} words")
        return summary


class ClauseSuggestion(Suggestion):
    """The label of one sentence (``index`` in the list classified) and why, in a few words."""

    index: int = Field(ge=0)
    label: ClauseLabel
    why: str = ""


class DocumentSuggestion(Suggestion):
    label: DocumentLabel
    confidence: float = Field(ge=0, le=1)
    why: str = ""


class Explanation(Suggestion):
    text: str = Field(min_length=1)


def risk_words(label: str) -> str:
    """``uncapped_liability`` -> ``uncapped liability``: a risk type as a reader (and the rubric) finds it."""
    return label.replace("_", " ")


__all__ = [
    "ASSIST_USES",
    "CLAUSE_LABELS",
    "DOCUMENT_LABELS",
    "RISK_CLAUSE_LABELS",
    "SUMMARY_MAX_WORDS",
    "Amount",
    "AnomalyContext",
    "AnomalyFact",
    "AnomalyReason",
    "ApprovalContext",
    "ApprovalSummary",
    "AssistCase",
    "AssistUse",
    "ClauseLabel",
    "ClauseSuggestion",
    "DocumentLabel",
    "DocumentSuggestion",
    "DocumentText",
    "Explanation",
    "Source",
    "Suggestion",
    "risk_words",
    "word_count",
]
