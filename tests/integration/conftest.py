"""The onboarding harness for end-to-end tests: the sample firm's systems, deals, and the approver's inbox."""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from backoffice.approvals.policy import DEFAULT_POLICY_FILE
from backoffice.approvals.store import ApprovalStore
from backoffice.audit import AuditRecord, AuditTrail
from backoffice.local.outbox import Mail, read_outbox
from backoffice.local.runtime import ExecutionView, LocalRuntime
from backoffice.local.samples import Deal, put_deal
from infra.catalog import Ref


@dataclass
class Firm:
    """The local runtime seen the way the firm's people see it: deals go in, e-mails and outcomes come out."""

    runtime: LocalRuntime

    @property
    def audit(self) -> AuditTrail:
        return AuditTrail(self.runtime.resolve(Ref("table_name", "audit")))

    def win(self, deal: Deal) -> str:
        """The CRM closes the deal: its SOW is attached and the Closed Won event goes on the bus."""
        detail = put_deal(
            self.runtime.sandbox(), self.runtime.client("s3"), self.runtime.documents_bucket, deal
        )
        self.runtime.put_event("Opportunity Closed Won", detail, source="crm.salesforce")
        return f"onboard-{deal.opportunity_id}"

    def execution(self, case_id: str) -> ExecutionView:
        return next(e for e in self.runtime.executions() if e.name == case_id)

    def settle(self, case_id: str, timeout: float = 30) -> ExecutionView:
        """Wait until the case finishes or waits for a person."""
        deadline = time.monotonic() + timeout
        while True:
            execution = self.execution(case_id)
            waiting = (
                execution.current_state is not None
                and execution.current_state.startswith("Ask ")
                and any(r.case_id == case_id for r in self.approvals.pending_requests())
            )
            if execution.status != "RUNNING" or waiting or time.monotonic() > deadline:
                return execution
            time.sleep(0.05)

    @property
    def approvals(self) -> ApprovalStore:
        return ApprovalStore(
            self.runtime.resolve(Ref("table_name", "approvals")), self.runtime.client("dynamodb")
        )

    def records(self, case_id: str) -> list[AuditRecord]:
        return self.audit.records(case_id)

    def actions(self, case_id: str) -> list[tuple[str, str]]:
        return [(r.action, r.outcome) for r in self.records(case_id)]

    def inbox(self, who: str) -> list[Mail]:
        return [m for m in read_outbox(self.runtime.outbox_dir) if m.to == who]

    def mail(self, who: str, case_id: str, timeout: float = 10) -> Mail:
        """The newest approval e-mail to ``who`` about the case (the request handler may still be sending it)."""
        deadline = time.monotonic() + timeout
        while True:
            mails = [m for m in self.inbox(who) if case_id in m.text and m.approval_links]
            if mails:
                return mails[-1]
            assert time.monotonic() < deadline, f"{who} has no approval e-mail for {case_id}"
            time.sleep(0.05)

    def link(self, who: str, case_id: str, timeout: float = 10) -> str:
        return self.mail(who, case_id, timeout).approval_links[0]

    def finish(self, case_id: str, timeout: float = 30) -> ExecutionView:
        """Wait until the case ends (succeeded or failed), whatever it waits for meanwhile."""
        deadline = time.monotonic() + timeout
        while True:
            execution = self.execution(case_id)
            if execution.status != "RUNNING" or time.monotonic() > deadline:
                return execution
            time.sleep(0.05)

    def outcome_event(self, case_id: str) -> dict[str, Any]:
        return next(
            e
            for e in self.runtime.bus_events
            if e["source"] == "backoffice.workflows" and e["detail"]["case_id"] == case_id
        )


def http(url: str, form: dict[str, str] | None = None, method: str | None = None) -> tuple[int, str]:
    data = urllib.parse.urlencode(form).encode() if form is not None else None
    request = urllib.request.Request(url, data=data, method=method or ("POST" if form is not None else "GET"))
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return int(response.status), response.read().decode()
    except urllib.error.HTTPError as error:
        return int(error.code), error.read().decode()


def csrf_of(page: str) -> str:
    match = re.search(r"name='csrf' value='([^']+)'", page)
    assert match, "the confirmation page has no form"
    return match.group(1)


def heading(page: str) -> str:
    match = re.search(r"<h1>(.*?)</h1>", page, re.S)
    return match.group(1) if match else ""


def approval_policy(**route_changes: Any) -> str:
    """The packaged policy with some routes or settings replaced, as the JSON a firm would configure."""
    document = json.loads(DEFAULT_POLICY_FILE.read_text())
    for key, value in route_changes.items():
        if key in document["routes"]:
            document["routes"][key] = value
        else:
            document[key] = value
    return json.dumps(document)


@pytest.fixture
def firm(runtime: LocalRuntime) -> Iterator[Firm]:
    yield Firm(runtime)
