"""The end-to-end harness: the sample firm's systems, deals, and the approver's inbox.

The firm's systems are one of two adapter sets (``SystemsUnderTest``): the sandbox adapters, or the real adapters
(Salesforce with Certinia, NetSuite, a REST HRIS) against local fakes of those vendors' APIs. A test module marked
``adapter_sets`` runs each of its tests once per set (ids ``[sandbox]`` and ``[fakes]``); a test marked
``sandbox_only(reason)`` is skipped on the fakes with that reason. Tests look at the systems through
``firm.systems``, never at one set's storage directly.
"""

from __future__ import annotations

import dataclasses
import json
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Protocol, TypeVar

import pytest

from backoffice.approvals.store import ApprovalStore
from backoffice.audit import AuditRecord, AuditTrail
from backoffice.connectors import wiring
from backoffice.connectors.http import reset_governors
from backoffice.local.outbox import Mail, read_outbox
from backoffice.local.polling import Pauses
from backoffice.local.runtime import LocalRuntime
from backoffice.local.samples import Deal, put_deal, sample_approval_policy
from backoffice.operate.deployment import ExecutionView
from infra.catalog import CATALOG, Ref
from tests.contract.fakes.firm import ERP_CUSTOMER_FIELD, SampleFirmSystems, sample_firm_systems
from tests.contract.fakes.netsuite_fake import ns_error
from tests.contract.fakes.salesforce_fake import BILLING_LABELS

T = TypeVar("T")
ADAPTER_SETS = ("sandbox", "fakes")

# ------------------------------------------------------------------------------------------------------------
# The firm's systems, as the tests look at them
# ------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ErpCustomer:
    id: str
    name: str


@dataclass(frozen=True)
class PsaProject:
    id: str
    opportunity_id: str | None
    client_id: str | None  # the ERP's customer id
    billing_model: str


@dataclass(frozen=True)
class StaffingRequest:
    project_id: str
    candidate_ids: tuple[str, ...]


@dataclass(frozen=True)
class ErpVendor:
    id: str
    name: str
    on_hold: bool
    tax_id: str | None
    bank_account_number: str | None  # None: none on file, or the ERP keeps none on the vendor
    insurance_expires_on: str | None  # ISO date; None: no certificate on file


class SystemsUnderTest(Protocol):
    """The firm's CRM, PSA, ERP and HRIS behind one adapter set: what a test puts in and looks at."""

    name: str

    def record_deal(self, deal: Deal, *, sow: bytes | None = None) -> dict[str, Any]:
        """The CRM records the won deal and (``deal.with_sow``) its SOW, ``sow`` instead of the sample PDF if
        given; returns the ``Opportunity Closed Won`` detail the CRM sends."""
        ...

    def erp_outage(self, times: int) -> None:
        """The ERP answers the next ``times`` calls as unavailable."""
        ...

    def customer_id(self, sample_id: str) -> str:
        """The ERP's id of a customer of the sample firm (``CUST-0006``)."""
        ...

    def customers(self) -> list[ErpCustomer]: ...

    def projects(self) -> list[PsaProject]: ...

    def resource_requests(self) -> list[StaffingRequest]: ...

    def vendors(self) -> list[ErpVendor]: ...


class SandboxSystems:
    """The sandbox adapters' systems: the runtime's sandbox table (and its documents bucket for SOW files)."""

    name = "sandbox"

    def __init__(self, runtime: LocalRuntime) -> None:
        self.runtime = runtime

    def record_deal(self, deal: Deal, *, sow: bytes | None = None) -> dict[str, Any]:
        runtime = self.runtime
        detail = put_deal(runtime.sandbox(), runtime.client("s3"), runtime.documents_bucket, deal)
        if sow is not None and deal.with_sow:
            key = f"crm/opportunities/{deal.opportunity_id}/statement-of-work.pdf"
            version = runtime.client("s3").put_object(Bucket=runtime.documents_bucket, Key=key, Body=sow)
            attachment = runtime.sandbox().get("crm", "attachment", deal.opportunity_id)
            assert attachment is not None
            runtime.sandbox().put(
                "crm", "attachment", deal.opportunity_id, {**attachment, "version_id": version["VersionId"]}
            )
        return detail

    def erp_outage(self, times: int) -> None:
        self.runtime.sandbox().inject_fault("erp", "ConnectorUnavailable", times=times)

    def customer_id(self, sample_id: str) -> str:
        return sample_id

    def customers(self) -> list[ErpCustomer]:
        return [
            ErpCustomer(c["id"], c["customer_name"]) for c in self.runtime.sandbox().all("erp", "customer")
        ]

    def projects(self) -> list[PsaProject]:
        return [
            PsaProject(p["id"], p.get("opportunity_id"), p.get("client_id"), p["billing_model"])
            for p in self.runtime.sandbox().all("psa", "project")
        ]

    def resource_requests(self) -> list[StaffingRequest]:
        return [
            StaffingRequest(r["project_id"], tuple(r.get("candidate_ids") or ()))
            for r in self.runtime.sandbox().all("psa", "resource_request")
        ]

    def vendors(self) -> list[ErpVendor]:
        return [
            ErpVendor(
                v["id"],
                v["supplier_name"],
                bool(v.get("on_hold")),
                v.get("tax_id"),
                (v.get("bank_account") or {}).get("account_number"),
                v.get("insurance_expires_on"),
            )
            for v in self.runtime.sandbox().all("erp", "vendor")
        ]


class FakeSystems:
    """The real adapters' systems: the Salesforce (with Certinia), NetSuite and REST HRIS fakes' own records."""

    name = "fakes"

    def __init__(self, fakes: SampleFirmSystems) -> None:
        self.fakes = fakes

    def record_deal(self, deal: Deal, *, sow: bytes | None = None) -> dict[str, Any]:
        salesforce = self.fakes.salesforce
        if sow is None or not deal.with_sow:
            salesforce.seed_deal(deal)
        else:
            salesforce.seed_deal(dataclasses.replace(deal, with_sow=False))
            salesforce.attach(deal.opportunity_id, f"Statement of Work - {deal.name}", sow)
        return closed_won_detail(deal)

    def erp_outage(self, times: int) -> None:
        self.fakes.netsuite.inject(
            503,
            ns_error(503, "UNEXPECTED_ERROR", "An unexpected error occurred."),
            times=times,
            path_prefix="/services/rest/query",
        )

    def customer_id(self, sample_id: str) -> str:
        return self.fakes.netsuite_ids[sample_id]

    def customers(self) -> list[ErpCustomer]:
        return [
            ErpCustomer(
                key,
                c.get("companyName")
                or " ".join(str(p) for p in (c.get("firstName"), c.get("lastName")) if p),
            )
            for key, c in self.fakes.netsuite.customers.items()
        ]

    def projects(self) -> list[PsaProject]:
        return [
            PsaProject(
                p["Id"],
                p.get("pse__Opportunity__c"),
                p.get(ERP_CUSTOMER_FIELD),
                BILLING_LABELS.get(str(p.get("pse__Billing_Type__c")), str(p.get("pse__Billing_Type__c"))),
            )
            for p in self.fakes.salesforce.tables["pse__Proj__c"].values()
        ]

    def resource_requests(self) -> list[StaffingRequest]:
        found = []
        for r in self.fakes.salesforce.tables["pse__Resource_Request__c"].values():
            # Certinia has no field for proposed candidates: the adapter writes them into the notes.
            proposed = next(
                (line[len("Proposed: ") :] for line in str(r.get("pse__Notes__c") or "").splitlines()
                 if line.startswith("Proposed: ")),
                "",
            )  # fmt: skip
            found.append(StaffingRequest(r["pse__Project__c"], tuple(c for c in proposed.split(", ") if c)))
        return found

    def vendors(self) -> list[ErpVendor]:
        return [
            ErpVendor(
                key,
                v.get("legalName") or v.get("companyName") or "",
                bool(v.get("isInactive")),  # the adapter's default hold: an inactive vendor
                v.get("taxIdNum"),
                None,  # NetSuite keeps bank details outside the vendor record; the adapter reads none
                v.get("custentity_coi_expiry"),
            )
            for key, v in self.fakes.netsuite.vendors.items()
        ]


def closed_won_detail(deal: Deal) -> dict[str, Any]:
    """The ``Opportunity Closed Won`` detail of a deal, as ``put_deal`` gives it for the sandbox CRM."""
    return {
        "opportunity": {
            "id": deal.opportunity_id,
            "account_id": deal.client.id,
            "name": deal.name,
            "stage_name": "Closed Won" if deal.won else "Closed Lost",
            "amount": str(deal.amount),
            "close_date": (date(2026, 11, 2) + timedelta(days=deal.index)).isoformat(),
            "is_closed": True,
            "is_won": deal.won,
            "currency": deal.client.default_currency,
            "probability": "100" if deal.won else "0",
            "owner_id": deal.owner,
        },
        "client": deal.client.to_json_dict(reveal_secrets=True),
        "service_line": deal.service_line,
    }


# ------------------------------------------------------------------------------------------------------------
# The firm
# ------------------------------------------------------------------------------------------------------------


@dataclass
class Firm:
    """The local runtime seen the way the firm's people see it: deals go in, e-mails and outcomes come out."""

    runtime: LocalRuntime
    systems: SystemsUnderTest = None  # type: ignore[assignment]  # None: the sandbox
    # case id -> (the last record's sequence number read, request ids and link expiries its records announced)
    _announcements: dict[str, tuple[int, set[str], set[str]]] = dataclasses.field(
        default_factory=dict, init=False, repr=False
    )

    def __post_init__(self) -> None:
        if self.systems is None:
            self.systems = SandboxSystems(self.runtime)

    @property
    def audit(self) -> AuditTrail:
        return AuditTrail(self.runtime.resolve(Ref("table_name", "audit")))

    def win(self, deal: Deal) -> str:
        """The CRM closes the deal: its SOW is attached and the Closed Won event goes on the bus."""
        detail = self.systems.record_deal(deal)
        self.runtime.put_event("Opportunity Closed Won", detail, source="crm.salesforce")
        return f"onboard-{deal.opportunity_id}"

    def execution(self, case_id: str, *, with_state: bool = True) -> ExecutionView:
        """The case's execution (``with_state=False``: without reading its history, ``current_state`` None)."""
        execution = self.runtime.execution(case_id, with_state=with_state)
        if execution is None:
            raise StopIteration(f"no execution {case_id}")
        return execution

    def settle(self, case_id: str, timeout: float = 30, *, execution: str | None = None) -> ExecutionView:
        """Wait until the case finishes or waits for a person; ``execution``: the name of the case's execution to
        watch when it has several (a correction's), by default its first, named after the case."""
        name = execution or case_id
        deadline = time.monotonic() + timeout
        pause = Pauses()
        arn = self.execution(name, with_state=False).arn
        while True:
            # The status alone first (the engine's threads share two cores with this loop): the history, for the
            # current state, is read only once a person has a pending request for the case.
            status = self._status(arn)
            if status == "RUNNING" and self._someone_is_asked(case_id):
                execution_view = self.execution(name)
                state = execution_view.current_state
                if execution_view.status != "RUNNING" or (state is not None and state.startswith("Ask ")):
                    return execution_view
            elif status != "RUNNING":
                return self.execution(name)
            if time.monotonic() > deadline:
                return self.execution(name)
            pause()

    def _someone_is_asked(self, case_id: str) -> bool:
        """A person has an open request about the case, its e-mails sent: an approval request whose
        ``approval.requested`` (or ``.escalated``) record, written after the e-mails, names it, or an upload link to
        the vendor whose ``documents.requested`` record names the link's expiry. One scan of the pending requests
        and links; the case's records are read only past the last one read before (the trail is only appended)."""
        pending = self.approvals.scan_items(("request", "upload"), "PENDING")
        bodies = [(item["kind"]["S"], json.loads(item["body"]["S"])) for item in pending]
        requests = {
            b["request_id"] for kind, b in bodies if kind == "request" and b.get("case_id") == case_id
        }
        links = {b["expires_at"] for kind, b in bodies if kind == "upload" and b.get("case_id") == case_id}
        if not requests and not links:
            return False
        requested, expiries = self._announced(case_id)
        return bool(requests & requested) if requests else bool(links & expiries)

    def _announced(self, case_id: str) -> tuple[set[str], set[str]]:
        """The request ids the case's ``approval.requested``/``.escalated`` records name, and the expiries its
        ``documents.requested`` records name, read on from where the last look stopped."""
        seen = self._announcements.setdefault(case_id, (0, set(), set()))
        last, requested, expiries = seen
        for record in self.audit.records_after(case_id, last):
            last = record.seq
            named = record.data.get("request_id"), record.data.get("expires_at")
            if record.action in ("approval.requested", "approval.escalated") and isinstance(named[0], str):
                requested.add(named[0])
            elif record.action == "documents.requested" and isinstance(named[1], str):
                expiries.add(named[1])
        self._announcements[case_id] = (last, requested, expiries)
        return requested, expiries

    def _status(self, arn: str) -> str:
        return str(self.runtime.client("stepfunctions").describe_execution(executionArn=arn)["status"])

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
        pause = Pauses()
        while True:
            mails = [m for m in self.inbox(who) if case_id in m.text and m.approval_links]
            if mails:
                return mails[-1]
            assert time.monotonic() < deadline, f"{who} has no approval e-mail for {case_id}"
            pause()

    def link(self, who: str, case_id: str, timeout: float = 10) -> str:
        return self.mail(who, case_id, timeout).approval_links[0]

    def finish(self, case_id: str, timeout: float = 30) -> ExecutionView:
        """Wait until the case ends (succeeded or failed), whatever it waits for meanwhile."""
        deadline = time.monotonic() + timeout
        pause = Pauses()
        arn = self.execution(case_id, with_state=False).arn
        while self._status(arn) == "RUNNING" and time.monotonic() <= deadline:
            pause()
        return self.execution(case_id)

    def output(self, case_id: str) -> dict[str, Any]:
        """The output of the case's execution: ``{outcome, reasons, event_id, resumable}`` for a case a business
        decision stopped (it ends SUCCEEDED)."""
        described = self.runtime.client("stepfunctions").describe_execution(
            executionArn=self.execution(case_id).arn
        )
        output: dict[str, Any] = json.loads(described.get("output") or "{}")
        return output

    def fault(self, case_id: str) -> tuple[str | None, str | None]:
        """The error and cause a case's execution FAILED with: a technical fault."""
        described = self.runtime.client("stepfunctions").describe_execution(
            executionArn=self.execution(case_id).arn
        )
        return described.get("error"), described.get("cause")

    def outcome_event(self, case_id: str) -> dict[str, Any]:
        return next(
            e
            for e in self.runtime.bus_events
            if e["source"] == "backoffice.workflows" and e["detail"]["case_id"] == case_id
        )


def start_first(entries: list[T], start: T) -> list[T]:
    """A case's steps (or actions) with its start first. start_case audits the start once StartExecution has
    answered, while the execution's first steps may already be auditing theirs (in AWS as here, the more so on a
    busy machine): the start's record may come after any of them. Only the start is moved; every other record
    stays in the order the trail has it."""
    if start not in entries:
        return entries
    at = entries.index(start)
    return [entries[at], *entries[:at], *entries[at + 1 :]]


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
    document = sample_approval_policy()
    for key, value in route_changes.items():
        if key in document["routes"]:
            document["routes"][key] = value
        else:
            document[key] = value
    return json.dumps(document)


# ------------------------------------------------------------------------------------------------------------
# Fixtures and the two adapter sets
# ------------------------------------------------------------------------------------------------------------


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "adapter_sets: run each test on the sandbox adapters and on the real adapters against the fakes",
    )
    config.addinivalue_line("markers", "sandbox_only(reason): skip the run on the fakes, saying why")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "systems" in metafunc.fixturenames and metafunc.definition.get_closest_marker("adapter_sets"):
        metafunc.parametrize("systems", ADAPTER_SETS, indirect=True)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        callspec = getattr(item, "callspec", None)
        marker = item.get_closest_marker("sandbox_only")
        if callspec is None or marker is None or callspec.params.get("systems") != "fakes":
            continue
        item.add_marker(pytest.mark.skip(reason=f"sandbox only: {marker.args[0]}"))


def deploy_firm_document(
    runtime: LocalRuntime, monkeypatch: pytest.MonkeyPatch, change: Callable[[dict[str, Any]], None]
) -> None:
    """The sample firm's configuration document, changed by ``change``, deployed to the runtime's parameter as a
    deploy would write it, with the five minutes the functions keep what they read gone by (Powertools' cache
    emptied, no caching after it)."""
    from aws_lambda_powertools.utilities import parameters

    from infra.firm_document import SAMPLE_CONFIG

    parameters.clear_caches()
    monkeypatch.setenv("FIRM_CONFIG_MAX_AGE", "0")
    document: dict[str, Any] = json.loads(SAMPLE_CONFIG.read_text())
    change(document)
    runtime.client("ssm").put_parameter(
        Name=CATALOG.settings["firm_config_parameter"],
        Value=json.dumps(document, separators=(",", ":")),
        Type="String",
        Overwrite=True,
    )


@pytest.fixture
def systems(
    request: pytest.FixtureRequest, runtime: LocalRuntime, monkeypatch: pytest.MonkeyPatch
) -> Iterator[SystemsUnderTest]:
    """The sandbox adapters (the default), or with ``"fakes"`` the real adapters against the sample firm's fake
    Salesforce, NetSuite and REST HRIS, wired in through the same configuration a deployment uses."""
    if getattr(request, "param", "sandbox") == "sandbox":
        yield SandboxSystems(runtime)
        return
    # Breakers and concurrency caps are per process: an outage test must not leave one open for the next test.
    reset_governors()
    with sample_firm_systems() as fakes:
        for name, value in fakes.environment.items():
            monkeypatch.setenv(name, value)
        wiring.configure(fakes.document, fakes.secrets)
        try:
            yield FakeSystems(fakes)
        finally:
            wiring.configure()
            reset_governors()


@pytest.fixture
def firm(runtime: LocalRuntime, systems: SystemsUnderTest) -> Firm:
    return Firm(runtime, systems)
