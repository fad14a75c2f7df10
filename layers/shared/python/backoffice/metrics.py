"""Business metrics in CloudWatch's embedded metric format (Powertools), one line per fact, flushed at once.

Cases started, completed and blocked per workflow, exceptions by rule, approval turnaround, extraction review rate
and overdue approvals: what the dashboard and alarms of the stack read. Locally they are switched off
(``POWERTOOLS_METRICS_DISABLED``) so demo output stays readable.
"""

from __future__ import annotations

import os

from aws_lambda_powertools.metrics import MetricUnit, single_metric

NAMESPACE_ENV = "POWERTOOLS_METRICS_NAMESPACE"
DEFAULT_NAMESPACE = "Backoffice"


def record(name: str, value: float = 1, *, unit: MetricUnit = MetricUnit.Count, **dimensions: str) -> None:
    """Emit one metric with its dimensions (``workflow`` first, then e.g. ``outcome`` or ``rule``)."""
    if os.environ.get("POWERTOOLS_METRICS_DISABLED", "").lower() == "true":
        return  # single_metric prints regardless of the switch (Powertools 3.x): honour it here
    namespace = os.environ.get(NAMESPACE_ENV, DEFAULT_NAMESPACE)
    items = list(dimensions.items())
    if not items:
        items = [("service", os.environ.get("POWERTOOLS_SERVICE_NAME", "backoffice"))]
    first_name, first_value = items[0]
    with single_metric(
        name=name, unit=unit, value=value, namespace=namespace, default_dimensions={first_name: first_value}
    ) as metric:
        for key, dimension in items[1:]:
            metric.add_dimension(name=key, value=dimension[:250] or "-")
