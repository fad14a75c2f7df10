"""Business metrics carry exactly the dimensions the alarms and the dashboard query (infra/monitoring.py)."""

from __future__ import annotations

import json

import pytest

from backoffice import metrics


def emitted(capsys: pytest.CaptureFixture[str]) -> dict[str, object]:
    [line] = capsys.readouterr().out.strip().splitlines()
    document: dict[str, object] = json.loads(line)
    return document


def test_a_metric_has_exactly_the_callers_dimensions_not_the_functions_service(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a function as deployed: Powertools' service name set, metrics on
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "refresh_sanctions_list")
    monkeypatch.delenv("POWERTOOLS_METRICS_DISABLED", raising=False)
    # When it records the list's age by workflow
    metrics.record("SanctionsListAgeDays", 9.5, workflow="sanctions_list")
    # Then the one dimension set is {workflow}: what the SanctionsListStale alarm reads
    document = emitted(capsys)
    [definition] = document["_aws"]["CloudWatchMetrics"]  # type: ignore[index]
    assert definition["Dimensions"] == [["workflow"]]
    assert definition["Namespace"] == "Backoffice"
    assert (document["workflow"], document["SanctionsListAgeDays"]) == ("sanctions_list", [9.5])
    assert "service" not in document


def test_several_dimensions_keep_their_order_and_none_falls_back_to_the_service(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "publish_outcome")
    monkeypatch.delenv("POWERTOOLS_METRICS_DISABLED", raising=False)
    metrics.record("CaseOutcomes", workflow="onboarding", outcome="Project Ready")
    assert emitted(capsys)["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["workflow", "outcome"]]  # type: ignore[index]
    metrics.record("Anything")
    assert emitted(capsys)["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["service"]]  # type: ignore[index]
