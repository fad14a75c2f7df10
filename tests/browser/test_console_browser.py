"""The operator console in headless Chromium: a high-risk deal from the form to a completed case, through two
levels of approval decided from the outbox's e-mails. Screenshots go to ``tests/browser/artifacts/``."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

import pytest

from backoffice.local.console import mount_console
from backoffice.local.runtime import LocalRuntime
from tests.browser.chromium import require_chromium, screenshot

require_chromium()
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import Select  # noqa: E402

T = TypeVar("T")


@pytest.fixture
def console(runtime: LocalRuntime) -> str:
    assert runtime.gateway is not None
    runtime.gateway.mount(mount_console(runtime))
    return f"{runtime.gateway.url}/console"


def eventually(check: Callable[[], T | None], what: str, timeout: float = 45) -> T:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.3)


def case_state(driver: Any, console: str, case_id: str) -> tuple[str, str]:
    driver.get(f"{console}/cases/{case_id}")
    return (
        driver.find_element(By.CSS_SELECTOR, "#status .badge").text,
        driver.find_element(By.ID, "current").text,
    )


def approve_from_outbox(driver: Any, console: str, approver: str, case_id: str, shot: str) -> None:
    """Open the approver's newest e-mail about the case, follow its link, type the e-mail, confirm."""

    def mail_link() -> str | None:
        driver.get(f"{console}/outbox")
        for row in driver.find_elements(By.CSS_SELECTOR, "table.outbox tbody tr"):
            if approver in row.text:
                return str(row.find_element(By.CSS_SELECTOR, "a.mail").get_attribute("href"))
        return None

    driver.get(eventually(mail_link, f"an e-mail to {approver}"))
    assert case_id in driver.find_element(By.CSS_SELECTOR, "pre.mailtext").text
    screenshot(driver, f"{shot}-mail")
    link = next(
        a for a in driver.find_elements(By.CSS_SELECTOR, "pre.mailtext a") if "/approvals/" in (a.text or "")
    )
    link.click()
    eventually(
        lambda: driver.find_elements(By.CSS_SELECTOR, "input[name=decision][value=approve]"),
        "the confirmation page",
    )[0].click()
    driver.find_element(By.ID, "approver").send_keys(approver)
    screenshot(driver, f"{shot}-confirm")
    driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    screenshot(driver, f"{shot}-decided")


def test_a_high_risk_deal_from_the_form_to_a_completed_case(browser: Any, console: str) -> None:
    # Given the console
    browser.get(f"{console}/")
    assert browser.find_element(By.TAG_NAME, "h1").text == "Cases"
    screenshot(browser, "01-console-empty")
    # When the operator sends the high-risk sample deal from the form
    Select(browser.find_element(By.ID, "sample")).select_by_value("high_risk")
    browser.find_element(By.ID, "send").click()
    # The click returns before the redirected page is there (seen once in a fresh clone's CI run): wait for it.
    case_id = eventually(lambda: browser.find_elements(By.CSS_SELECTOR, "#sent a"), "the sent notice")[0].text
    assert case_id.startswith("onboard-")
    # Then the case appears and reaches legal review
    eventually(
        lambda: case_state(browser, console, case_id) == ("RUNNING", "Ask legal to review the contract"),
        "the case to wait for legal",
    )
    screenshot(browser, "02-case-waiting-for-legal")
    browser.get(f"{console}/")
    assert case_id in browser.find_element(By.CSS_SELECTOR, "table.cases").text
    eventually(
        lambda: "lena.hoffmann" in browser.find_element(By.TAG_NAME, "main").text or browser.refresh(),
        "the pending approval",
    )
    screenshot(browser, "03-console-pending-approval")
    # When legal approves from the e-mail's link
    approve_from_outbox(browser, console, "lena.hoffmann@example-firm.com", case_id, "04-legal")
    # Then the second level goes to the general counsel, who approves too
    approve_from_outbox(browser, console, "grace.okafor@example-firm.com", case_id, "05-general-counsel")
    # And the case completes
    eventually(lambda: case_state(browser, console, case_id)[0] == "SUCCEEDED", "the case to complete")
    page = browser.find_element(By.TAG_NAME, "main").text
    assert "Project Onboarded" in page
    entered = {
        g.get_attribute("data-state")
        for g in browser.find_elements(By.CSS_SELECTOR, "svg.graph g.state.entered")
    }
    assert {
        "Ask legal to review the contract",
        "Next legal review level",
        "Announce project onboarded",
    } <= entered
    assert "chain verified" in page
    screenshot(browser, "06-case-completed")
    browser.get(f"{console}/")
    screenshot(browser, "07-console-completed")
    browser.get(f"{console}/report")
    screenshot(browser, "08-report")
