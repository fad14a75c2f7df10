"""The sample firm's process report in headless Chromium: every management number shown with a value and its
charts drawn. The screenshot goes to ``tests/browser/artifacts/report-sample.png``."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import pytest

from backoffice.cli.report import add_report_parsers
from backoffice.intelligence.management import GLOSSARY, ManagementNumbers
from tests.browser.chromium import ARTIFACTS, require_chromium, screenshot

require_chromium()
from selenium.webdriver.common.by import By  # noqa: E402

SECTIONS = ("management", "receivables", "delivery", "billing", "operations", "definitions")


@pytest.fixture(scope="module")
def sample_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    parser = argparse.ArgumentParser()

    def no_runtime(args: argparse.Namespace) -> Any:
        raise AssertionError("the sample report must not connect")

    add_report_parsers(parser.add_subparsers(), connect=no_runtime)
    out = tmp_path_factory.mktemp("report") / "sample.html"
    args = parser.parse_args(["report", "--sample", "--out", str(out)])
    assert args.func(args) == 0
    return out


def test_the_sample_report_shows_every_management_number(browser: Any, sample_report: Path) -> None:
    # Given the sample firm's report, When a manager opens it
    browser.get(sample_report.as_uri())
    # Then every management number has its card, with a value
    cards = {
        card.get_attribute("data-key"): card.find_element(By.CLASS_NAME, "value").text
        for card in browser.find_elements(By.CSS_SELECTOR, "#management .kpi")
    }
    assert set(cards) == set(ManagementNumbers.model_fields)
    assert [key for key, value in cards.items() if not value or value == "n/a"] == []
    # And each section draws its charts, none of them empty
    for section in SECTIONS[1:-1]:
        drawn = browser.find_elements(By.CSS_SELECTOR, f"#{section} svg.chart")
        assert drawn, section
        assert all(svg.find_elements(By.CSS_SELECTOR, "rect") for svg in drawn), section
    # And the definitions list every number once
    defined = [
        row.get_attribute("id") for row in browser.find_elements(By.CSS_SELECTOR, "#definitions tr[id]")
    ]
    assert defined == [f"define-{d.key}" for d in GLOSSARY]
    screenshot(browser, "report-sample")
    # And the sections below the first screenful, each on its own
    for section in ("delivery", "operations"):
        browser.set_window_size(1440, 1600)
        browser.execute_script(f"document.getElementById('{section}').scrollIntoView()")
        browser.save_screenshot(str(ARTIFACTS / f"report-sample-{section}.png"))
