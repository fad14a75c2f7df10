"""Business metrics in CloudWatch's embedded metric format (Powertools), one line per fact, flushed at once.

Cases started, completed and blocked per workflow, exceptions by rule, approval turnaround, extraction review rate
and overdue approvals: what the dashboard and alarms of the stack read. Locally they are switched off
(``POWERTOOLS_METRICS_DISABLED``) so demo output stays readable.
"""

from __future__ import annotations

import json
import os

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.metrics.base import SingleMetric

NAMESPACE_ENV = "POWERTOOLS_METRICS_NAMESPACE"
DEFAULT_NAMESPACE = "Backoffice"


def record(name: str, value: float = 1, *, unit: MetricUnit = MetricUnit.Count, **dimensions: str) -> None:
    """Emit one metric with exactly its dimensions (``workflow`` first, then e.g. ``outcome`` or ``rule``).

    Exactly: Powertools adds ``service`` (the function's ``POWERTOOLS_SERVICE_NAME``) to every metric it serializes,
    and CloudWatch treats each dimension set as a metric of its own, so an alarm or a dashboard SEARCH on
    ``{workflow}`` would never see a metric sent as ``{workflow, service}``. A metric without dimensions is sent
    with ``service`` alone."""
    if os.environ.get("POWERTOOLS_METRICS_DISABLED", "").lower() == "true":
        return  # Powertools prints regardless of the switch (3.x): honour it here
    items = list(dimensions.items()) or [("service", os.environ.get("POWERTOOLS_SERVICE_NAME", "backoffice"))]
    metric = SingleMetric(namespace=os.environ.get(NAMESPACE_ENV, DEFAULT_NAMESPACE))
    metric.service = ""  # the caller's dimensions, no more (see above)
    metric.add_metric(name=name, unit=unit, value=value)
    for key, dimension in items:
        metric.add_dimension(name=key, value=dimension[:250] or "-")
    print(json.dumps(metric.serialize_metric_set(), separators=(",", ":")))
