"""The HTML report: its charts are inline SVG, it loads nothing from anywhere, and it escapes what the trail says."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from html.parser import HTMLParser

import pytest

from backoffice.audit import Actor
from backoffice.intelligence import build_report, render_html
from backoffice.intelligence.samples import TrailWriter, sample_records


@pytest.fixture(scope="module")
def page() -> str:
    return render_html(build_report(sample_records()))


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def tags(page: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = _Tags()
    parser.feed(page)
    return parser.tags


def svg_titles(page: str) -> list[str]:
    return re.findall(r'<svg class="(?:chart|map)"[^>]*><title>([^<]*)</title>', page)


def test_the_report_draws_its_charts_as_inline_svg(page: str) -> None:
    # Given the report of a month of onboarding and invoicing cases
    titles = svg_titles(page)
    # Then it has the cycle-time histograms, the exceptions chart, approval turnaround, waits and the process maps
    assert "cycle-time distribution of onboarding" in titles
    assert "cycle-time distribution of invoicing" in titles
    assert "exceptions by rule" in titles
    assert "approval turnaround per level" in titles
    assert "approval turnaround per approver" in titles
    assert "where onboarding cases wait" in titles
    assert "process map of onboarding" in titles and "process map of invoicing" in titles
    # And the charts have marks: histogram bars, arrows between activity boxes
    assert page.count("<rect") > 100 and page.count("<path") > 40
    assert 'marker-end="url(#arrow)"' in page


def test_the_report_is_self_contained(page: str) -> None:
    # Given the rendered page
    found = tags(page)
    # Then no element loads anything: no scripts, no stylesheets or fonts by link, no remote images
    assert not [t for t, _ in found if t in ("script", "link", "iframe", "img", "object", "embed")]
    for tag, attrs in found:
        for name in ("src", "href", "xlink:href"):
            value = attrs.get(name) or ""
            assert not re.match(r"\s*(https?:)?//", value), f"<{tag} {name}={value}> loads a remote resource"
    # And the CSS imports nothing
    assert "@import" not in page and not re.search(r"url\(\s*['\"]?(https?:)?//", page)


def test_the_report_names_its_metrics_and_the_billing_lag(page: str) -> None:
    for heading in (
        "Cycle time",
        "Exceptions by rule",
        "Approval turnaround",
        "Where cases wait",
        "Process map",
    ):
        assert heading in page
    assert "Billing lag (billed period's end" in page and "Management numbers" in page


def test_billing_lag_says_not_available_when_no_record_has_the_dates(
    trail: TrailWriter, at: Callable[[float], datetime]
) -> None:
    # Given a trail without invoices
    trail.add("c1", at(0), "start case", Actor.system("start_case"), "case.started", "started")
    trail.add(
        "c1",
        at(1),
        "publish outcome",
        Actor.system("publish_outcome"),
        "outcome.published",
        "Project Onboarded",
    )
    # When it is reported
    page = render_html(build_report(trail.records))
    # Then the billing lag says n/a and why
    assert "n/a: no invoice.posted record carries data.period_end" in page


def test_what_the_trail_says_is_escaped(trail: TrailWriter, at: Callable[[float], datetime]) -> None:
    # Given a step and a reason carrying markup (the trail stores what systems and people typed)
    trail.add("c<1>", at(0), "start case", Actor.system("start_case"), "case.started", "started")
    trail.add(
        "c<1>", at(1), "<script>alert(1)</script>", Actor.system("x"), "x.done", "blocked",
        reasons=["Boom: <img src=x onerror=alert(1)>"],
    )  # fmt: skip
    # When it is reported
    page = render_html(build_report(trail.records))
    # Then the markup is shown as text, never as elements
    assert "<script>" not in page and "<img" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_an_empty_trail_still_renders_a_page() -> None:
    page = render_html(build_report([]))
    assert page.startswith("<!DOCTYPE html>") and "</html>" in page
    assert "0 cases" in page
