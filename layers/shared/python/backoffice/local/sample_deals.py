"""The won deals the console's form can put on the bus: one a kind of case the onboarding workflow handles."""

from __future__ import annotations

from dataclasses import dataclass

from backoffice.onboarding.contract_risk import RiskRule


@dataclass(frozen=True)
class Sample:
    key: str
    label: str
    risks: frozenset[RiskRule] = frozenset()
    with_sow: bool = True
    billing_model: str = "time_and_materials"


SAMPLES: tuple[Sample, ...] = (
    Sample("standard", "Standard deal: low risk, time and materials"),
    Sample(
        "medium_risk",
        "Medium-risk deal: payment terms over the limit (legal reviews)",
        risks=frozenset({"payment_terms_over_limit"}),
    ),
    Sample(
        "high_risk",
        "High-risk deal: uncapped liability (legal, then the general counsel)",
        risks=frozenset({"uncapped_liability"}),
    ),
    Sample("fixed_fee", "Fixed-fee deal", billing_model="fixed_fee"),
    Sample("no_sow", "Deal without a statement of work (blocked)", with_sow=False),
)


def sample_tax_id(index: int) -> str:
    """A made-up EIN for a sample client, so the console shows its masking at work."""
    return f"84-{2231900 + index % 100000:07d}"
