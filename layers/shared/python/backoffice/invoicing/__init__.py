"""Invoicing: billing readiness of a project's period (BR1 to BR10 of DOMAIN.md section 2)."""

from backoffice.invoicing.policy import BillingPolicy
from backoffice.invoicing.readiness import (
    BillingException,
    BillingPeriod,
    ReadinessReport,
    check_billing_readiness,
    check_billing_readiness_json,
)

__all__ = [
    "BillingException",
    "BillingPeriod",
    "BillingPolicy",
    "ReadinessReport",
    "check_billing_readiness",
    "check_billing_readiness_json",
]
