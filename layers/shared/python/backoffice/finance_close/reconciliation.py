"""PSA-to-ERP reconciliation of a period: every difference between what the PSA says was worked and billed and
what the ERP invoiced, with the customer and project master data and the rate cards both keep.

Finance closes a period only when the two books agree; until now someone compared exports by hand. Here each rule
of ``RULES`` (RC1 to RC11, ``reconciliation_policy``) is one small function over the records the ports return, and
each difference is a ``ReconciliationFinding``: the rule, both sides' values (a tax id only ever as "differs"),
the amount at stake in its own currency, who should fix it, and a ``key`` that names the finding without any
amount, so that a re-run after fixes tells which findings are closed (``compare_runs``). ``reconcile`` runs the
rules the policy turns on and splits the findings between those a person decides through the approval step
(``to_review``: the amount at stake at or above the threshold) and those only listed.

How the records are matched:

- PSA lines to ERP invoice lines by the line's ``source_ids`` (time entry and expense ids; the billing run writes
  them, ``invoicing/drafting.py``). A PSA line names its invoice by ``invoice_id``: the ERP invoice's id, as the
  billing run's posting step marks it (``invoicing/steps.py``), or else its number, as some PSAs keep it.
- Projects by id (the ERP keeps the PSA's project code); a project of one system with no twin by id but one of the
  same name and client in the other is the same project under another code (RC9).
- Customers: the PSA and the ERP share the customer id, since onboarding names the PSA project's client by the ERP
  customer it matched or created (``onboarding/steps.py``: ``match_or_create_customer``, then ``create_project``).
  A CRM account keeps the CRM's id and the ERP customer records nothing of it: onboarding either matched the
  account to an existing customer (same tax id, or same legal name and address) or created the customer with the
  idempotency key ``customer#<account id>``, and the ERP gave it its own id. So the handler passes the pairs it
  knows from onboarding's outcomes in ``crm_account_links`` (account id -> ERP customer id); an account without a
  link is matched as onboarding matches (``onboarding.customers.match_customer``, "existing" only), and an account
  matching no customer (a prospect, or one a person must pick) is not compared.

Pure: no ports, no clock, no I/O; amounts are Decimal sums and differences of the stated figures, never mixed
across currencies.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Literal, Self, TypeVar, get_args

from pydantic import ConfigDict, Field, model_validator

from backoffice.finance_close.reconciliation_policy import (
    RULE_IDS,
    RULES,
    Decision,
    Owner,
    ReconciliationPolicy,
    RuleId,
)
from backoffice.invoicing.readiness import money
from backoffice.models import (
    Address,
    Client,
    ExpenseEntry,
    Invoice,
    InvoiceLine,
    Project,
    RateCard,
    RateCardLine,
    TimeEntry,
)
from backoffice.models.envelope import JsonModel
from backoffice.onboarding.customers import (
    address_score,
    match_customer,
    normalize_legal_name,
    normalize_tax_id,
)

__all__ = [
    "RULES",
    "FindingDecision",
    "FindingSubject",
    "ReconciliationFinding",
    "ReconciliationInputs",
    "ReconciliationResult",
    "ReconciliationSummary",
    "RunComparison",
    "WipRow",
    "age_bucket",
    "aged_wip_lines",
    "compare_runs",
    "reconcile",
]

_ZERO = Decimal(0)
# Invoices that bill: a draft is still being prepared (the PSA is marked only once it posts), a cancelled one bills
# nothing.
_BILLING_STATUSES = frozenset({"posted", "partly_paid", "paid"})

SubjectKind = Literal[
    "invoice", "invoice_line", "time_entry", "expense", "project", "customer", "rate_card", "rate_card_line"
]
WipBucket = Literal["0-30", "31-60", "61-90", "90+"]
Route = Literal["review", "listed"]
LineKind = Literal["time", "expense"]


# ------------------------------------------------------------------------------------------------------------
# What goes in and what comes out
# ------------------------------------------------------------------------------------------------------------


class ReconciliationInputs(JsonModel):
    """One period's records, as the ports return them.

    - ``psa_time``, ``psa_expenses``: every line dated up to ``period_end`` that is approved or billed (its
      ``status`` and ``invoice_id`` say which); lines billed on invoices of earlier periods are only checked when
      the ERP invoices here carry them.
    - ``erp_invoices``: the invoices posted in or for the period, with their lines' ``source_ids``.
    - ``psa_projects``, ``erp_projects``: each system's view of the projects, in the same model.
    - ``crm_accounts``, ``psa_accounts``, ``erp_customers``: the customer master of each system; an empty list
      means the system was not read (a PSA without an account listing), not that it has no customers.
    - ``crm_account_links``: CRM account id -> ERP customer id, as onboarding matched or created them.
    - ``psa_rate_cards``, ``erp_rate_cards``: project id -> the rate card each system bills it by (None: none).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    period_start: date
    period_end: date
    as_of: date
    psa_time: list[TimeEntry] = Field(default_factory=list)
    psa_expenses: list[ExpenseEntry] = Field(default_factory=list)
    erp_invoices: list[Invoice] = Field(default_factory=list)
    psa_projects: list[Project] = Field(default_factory=list)
    erp_projects: list[Project] = Field(default_factory=list)
    crm_accounts: list[Client] = Field(default_factory=list)
    psa_accounts: list[Client] = Field(default_factory=list)
    erp_customers: list[Client] = Field(default_factory=list)
    crm_account_links: dict[str, str] = Field(default_factory=dict)
    psa_rate_cards: dict[str, RateCard | None] = Field(default_factory=dict)
    erp_rate_cards: dict[str, RateCard | None] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _period_in_order(self) -> Self:
        if self.period_end < self.period_start:
            raise ValueError("the period ends before it starts")
        return self


class FindingSubject(JsonModel):
    """What a finding is about: an ERP invoice or one of its lines (``<invoice id>/<kind>:<source id>``), a PSA
    time entry or expense, a project, a customer, a rate card or one of its lines."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: SubjectKind
    id: str


class ReconciliationFinding(JsonModel):
    """One difference between the books, as finance reads it.

    ``key`` is the finding's identity across runs: the rule and the ids of what it is about, never an amount, so
    that a difference that shrinks but remains is the same finding, and one fixed is closed by the next run.
    ``attribute`` names what differs (``amount``, ``legal_name``, ``status``...). The values are what each
    system holds, as text (a tax id never: only "on file", "differs from ERP"). ``amount_at_stake`` is in
    ``currency``; ``suggested_owner`` is a role, with the project's manager when the PSA knows one.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    rule_id: RuleId
    key: str = Field(min_length=1)
    subject: FindingSubject
    attribute: str
    description: str
    psa_value: str | None = None
    erp_value: str | None = None
    crm_value: str | None = None
    amount_at_stake: Decimal | None = None
    currency: str | None = None
    suggested_owner: Owner
    project_id: str | None = None
    project_manager_id: str | None = None
    route: Route = "listed"

    @model_validator(mode="after")
    def _amount_has_currency(self) -> Self:
        if self.amount_at_stake is not None and self.currency is None:
            raise ValueError("an amount at stake needs its currency")
        return self


class WipRow(JsonModel):
    """Approved billable work not yet billed, of one project in one currency, by age (days since the work or
    the expense, as of the run)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    project_id: str | None  # None: expenses booked to no project
    currency: str
    project_manager_id: str | None = None
    days_0_30: Decimal = _ZERO
    days_31_60: Decimal = _ZERO
    days_61_90: Decimal = _ZERO
    days_over_90: Decimal = _ZERO
    total: Decimal = _ZERO
    hours: Decimal = _ZERO  # unbilled billing hours of the time lines
    lines: int = 0
    oldest: date | None = None


class ReconciliationSummary(JsonModel):
    """The compact part of a result, for Step Functions state and the run's printout (the findings and the WIP
    table go to S3)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    period_start: date
    period_end: date
    as_of: date
    rules_run: list[RuleId]
    counts_by_rule: dict[RuleId, int]
    amount_at_stake: dict[str, Decimal]
    wip_totals: dict[str, Decimal]
    findings: int
    to_review: int
    listed: int


class ReconciliationResult(JsonModel):
    """Findings sorted by rule then key; counts per rule run (zero included); amounts at stake and WIP per
    currency; the keys of the findings to review and of those only listed.

    ``amount_at_stake`` adds up the findings' amounts, so one cause that two rules see (a PSA line the ERP bills
    on another invoice, RC2, on an invoice no PSA line is billed to, RC4) counts in each: it says how much the
    open findings concern, not what the books are out by."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    period_start: date
    period_end: date
    as_of: date
    rules_run: list[RuleId]
    findings: list[ReconciliationFinding]
    counts_by_rule: dict[RuleId, int]
    amount_at_stake: dict[str, Decimal]
    wip: list[WipRow]
    wip_totals: dict[str, Decimal]
    to_review: list[str]
    listed: list[str]

    def for_rule(self, rule: RuleId) -> list[ReconciliationFinding]:
        return [finding for finding in self.findings if finding.rule_id == rule]

    def summary(self) -> ReconciliationSummary:
        return ReconciliationSummary(
            period_start=self.period_start,
            period_end=self.period_end,
            as_of=self.as_of,
            rules_run=self.rules_run,
            counts_by_rule=self.counts_by_rule,
            amount_at_stake=self.amount_at_stake,
            wip_totals=self.wip_totals,
            findings=len(self.findings),
            to_review=len(self.to_review),
            listed=len(self.listed),
        )


class RunComparison(JsonModel):
    """What a re-run says of the previous run's open findings: ``closed`` no longer hold, ``still_open`` do,
    ``new`` were not open before. ``not_checked``: open before under a rule this run did not run (switched off),
    so neither closed nor confirmed."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    new: list[str]
    still_open: list[str]
    closed: list[str]
    not_checked: list[str]


class FindingDecision(JsonModel):
    """A reviewer's decision on one finding: acknowledge it, have it fixed in the PSA or in the ERP, or write the
    difference off, which needs a reason the audit trail keeps."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    finding_key: str = Field(min_length=1)
    decision: Decision
    reason: str | None = Field(default=None, max_length=2000)

    @model_validator(mode="after")
    def _write_off_has_reason(self) -> Self:
        if self.decision == "write_off" and not self.reason:
            raise ValueError("a write-off needs a reason")
        return self


# ------------------------------------------------------------------------------------------------------------
# The books, indexed once
# ------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Line:
    """A PSA time entry or expense as the reconciliation reads it: what it bills, for how much, and where."""

    kind: LineKind
    id: str
    project_id: str | None
    dated: date
    invoice_id: str | None
    quantity: Decimal  # billing hours; one per expense
    amount: Decimal  # billing amount; the sanctioned amount of an expense
    currency: str
    approved: bool
    billable: bool


def _time_line(entry: TimeEntry) -> _Line:
    return _Line(
        kind="time",
        id=entry.id,
        project_id=entry.project_id,
        dated=entry.work_date,
        invoice_id=entry.invoice_id,
        quantity=entry.billing_hours,
        amount=entry.billing_amount,
        currency=entry.currency,
        approved=entry.status == "approved",
        billable=entry.is_billable,
    )


def _expense_line(expense: ExpenseEntry) -> _Line:
    sanctioned = expense.sanctioned_amount if expense.sanctioned_amount is not None else expense.amount
    return _Line(
        kind="expense",
        id=expense.id,
        project_id=expense.project_id,
        dated=expense.expense_date,
        invoice_id=expense.invoice_id,
        quantity=Decimal(1),
        amount=sanctioned,
        currency=expense.currency,
        approved=expense.status == "approved",
        billable=expense.is_billable,
    )


_Identified = TypeVar("_Identified", TimeEntry, ExpenseEntry, Invoice, Project, Client)


def _unique_by_id(records: Iterable[_Identified]) -> dict[str, _Identified]:
    """The first record of each id: a paged read that overlaps hands some records twice."""
    found: dict[str, _Identified] = {}
    for record in records:
        found.setdefault(record.id, record)
    return found


@dataclass(frozen=True)
class _Books:
    inputs: ReconciliationInputs
    lines: dict[tuple[LineKind, str], _Line]
    invoices: dict[str, Invoice]  # every status
    invoices_by_number: dict[str, Invoice]
    psa_projects: dict[str, Project]
    erp_projects: dict[str, Project]
    # Where the ERP bills each PSA line: (invoice, line) of every billing invoice whose line names it.
    carried: dict[tuple[LineKind, str], list[tuple[Invoice, InvoiceLine]]]

    @classmethod
    def of(cls, inputs: ReconciliationInputs) -> _Books:
        lines: dict[tuple[LineKind, str], _Line] = {}
        for entry in _unique_by_id(inputs.psa_time).values():
            lines[("time", entry.id)] = _time_line(entry)
        for expense in _unique_by_id(inputs.psa_expenses).values():
            lines[("expense", expense.id)] = _expense_line(expense)
        invoices = _unique_by_id(inputs.erp_invoices)
        carried: dict[tuple[LineKind, str], list[tuple[Invoice, InvoiceLine]]] = defaultdict(list)
        for invoice in _billing(invoices.values()):
            for line, kind in _psa_lines_of(invoice):
                for source_id in dict.fromkeys(line.source_ids):
                    carried[(kind, source_id)].append((invoice, line))
        return cls(
            inputs=inputs,
            lines=lines,
            invoices=invoices,
            invoices_by_number={inv.invoice_number: inv for inv in invoices.values() if inv.invoice_number},
            psa_projects=_unique_by_id(inputs.psa_projects),
            erp_projects=_unique_by_id(inputs.erp_projects),
            carried=dict(carried),
        )

    def invoice(self, reference: str | None) -> Invoice | None:
        """The ERP invoice a PSA line names, by id or else by number."""
        if reference is None:
            return None
        return self.invoices.get(reference) or self.invoices_by_number.get(reference)

    def billed_to(self, line: _Line, invoice: Invoice) -> bool:
        target = self.invoice(line.invoice_id)
        return target is not None and target.id == invoice.id

    def in_period(self, day: date) -> bool:
        return self.inputs.period_start <= day <= self.inputs.period_end

    def manager(self, project_id: str | None) -> str | None:
        if project_id is None:
            return None
        for projects in (self.psa_projects, self.erp_projects):
            project = projects.get(project_id)
            if project is not None and project.project_manager_id:
                return project.project_manager_id
        return None

    def active_projects(self) -> set[str]:
        """Projects with work dated in the period or an ERP invoice in it."""
        worked = {
            line.project_id for line in self.lines.values() if line.project_id and self.in_period(line.dated)
        }
        invoiced = {inv.project_id for inv in _billing(self.invoices.values()) if inv.project_id}
        return worked | invoiced


def _billing(invoices: Iterable[Invoice]) -> list[Invoice]:
    return sorted((inv for inv in invoices if inv.status in _BILLING_STATUSES), key=lambda inv: inv.id)


def _psa_lines_of(invoice: Invoice) -> list[tuple[InvoiceLine, LineKind]]:
    """The invoice's lines that bill PSA time or expenses (milestones, retainers, fees and adjustments bill the
    contract's terms, not PSA lines)."""
    found: list[tuple[InvoiceLine, LineKind]] = []
    for line in invoice.lines:
        if line.source == "time":
            found.append((line, "time"))
        elif line.source == "expense":
            found.append((line, "expense"))
    return found


def _label(invoice: Invoice) -> str:
    return invoice.invoice_number or invoice.id


def _quantity(kind: LineKind, quantity: Decimal) -> str:
    return f"{quantity} h" if kind == "time" else f"{quantity} item(s)"


def _line_word(kind: LineKind) -> str:
    return "time entry" if kind == "time" else "expense"


def _counted(count: int, kind: LineKind) -> str:
    """``1 time entry``, ``2 time entries``, ``3 expenses``."""
    if kind == "time":
        return f"{count} time {'entry' if count == 1 else 'entries'}"
    return f"{count} expense{'' if count == 1 else 's'}"


def _lines(lines: Sequence[_Line]) -> str:
    """``2 time entries and 1 expense``: what a group of PSA lines holds."""
    times = sum(1 for line in lines if line.kind == "time")
    parts = [_counted(times, "time")] if times else []
    if len(lines) > times:
        parts.append(_counted(len(lines) - times, "expense"))
    return " and ".join(parts)


def _subject_kind(kind: LineKind) -> SubjectKind:
    return "time_entry" if kind == "time" else "expense"


# ------------------------------------------------------------------------------------------------------------
# RC1 to RC5: billed lines, both directions
# ------------------------------------------------------------------------------------------------------------


def rule_billed_line_differences(books: _Books, policy: ReconciliationPolicy) -> list[ReconciliationFinding]:
    """RC1: an ERP line whose every source is a PSA line billed to that invoice, for another total.

    A line naming PSA lines billed elsewhere, or not billed, is RC2's or RC3's: comparing its total here would
    report the same cause twice.
    """
    findings = []
    for invoice in _billing(books.invoices.values()):
        for line, kind in _psa_lines_of(invoice):
            sources = list(dict.fromkeys(line.source_ids))
            psa = [books.lines.get((kind, source_id)) for source_id in sources]
            linked = [p for p in psa if p is not None and books.billed_to(p, invoice)]
            if not sources or len(linked) != len(sources):
                continue
            finding = _line_difference(books, invoice, line, kind, linked, policy)
            if finding is not None:
                findings.append(finding)
    return findings


def _line_difference(
    books: _Books,
    invoice: Invoice,
    line: InvoiceLine,
    kind: LineKind,
    psa: Sequence[_Line],
    policy: ReconciliationPolicy,
) -> ReconciliationFinding | None:
    where = f"Invoice {_label(invoice)} line '{line.description}' bills PSA {_counted(len(psa), kind)}"
    currencies = sorted({p.currency for p in psa})
    amount_at_stake: Decimal | None = None
    if currencies != [invoice.currency]:
        attribute, psa_text, erp_text = "currency", ", ".join(currencies), invoice.currency
        description = (
            f"{where} recorded in {psa_text} in an invoice in {invoice.currency}: the amounts cannot be compared "
            "until one side is corrected."
        )
    else:
        quantity = sum((p.quantity for p in psa), _ZERO)
        amount = sum((p.amount for p in psa), _ZERO)
        difference = line.amount - amount
        amount_differs = abs(difference) > policy.tolerance
        quantity_differs = quantity != line.quantity
        if not amount_differs and not quantity_differs:
            return None
        attribute = (
            "amount" if not quantity_differs else "quantity" if not amount_differs else "amount and quantity"
        )
        psa_text = f"{_quantity(kind, quantity)}, {money(invoice.currency, amount)}"
        erp_text = f"{_quantity(kind, line.quantity)}, {money(invoice.currency, line.amount)}"
        effect = (
            f"the client is billed {money(invoice.currency, abs(difference))} "
            f"{'more' if difference > 0 else 'less'} than the PSA recorded"
            if amount_differs
            else "the amount agrees but the quantity billed does not"
        )
        description = f"{where}: the ERP has {erp_text}, the PSA {psa_text}; {effect}."
        amount_at_stake = abs(difference)
    first = min(p.id for p in psa)
    project_id = invoice.project_id or psa[0].project_id
    return ReconciliationFinding(
        rule_id="RC1",
        key=f"RC1:{invoice.id}:{kind}:{first}",
        subject=FindingSubject(kind="invoice_line", id=f"{invoice.id}/{kind}:{first}"),
        attribute=attribute,
        description=description,
        psa_value=psa_text,
        erp_value=erp_text,
        amount_at_stake=amount_at_stake,
        currency=invoice.currency,
        suggested_owner="billing",
        project_id=project_id,
        project_manager_id=books.manager(project_id),
    )


def rule_billed_lines_elsewhere(books: _Books, policy: ReconciliationPolicy) -> list[ReconciliationFinding]:
    """RC2: a PSA line billed to invoice X that the ERP bills on another invoice, twice, on X for another
    project, or not at all on X.

    A line billed before the period on an invoice not in this reconciliation is the earlier close's; it is
    checked only when an invoice here carries it. A line whose invoice the ERP lacks or cancelled is RC5's,
    unless the ERP bills it elsewhere; one whose invoice is still a draft is being billed, and left alone.
    """
    findings = []
    for (kind, line_id), line in sorted(books.lines.items()):
        if line.invoice_id is None:
            continue
        target = books.invoice(line.invoice_id)
        carried = books.carried.get((kind, line_id), [])
        if target is not None and target.status not in _BILLING_STATUSES:
            continue
        problem = _elsewhere(line, target, carried)
        if problem is None:
            continue
        attribute, erp_text, description = problem
        findings.append(
            ReconciliationFinding(
                rule_id="RC2",
                key=f"RC2:{kind}:{line_id}",
                subject=FindingSubject(kind=_subject_kind(kind), id=line_id),
                attribute=attribute,
                description=f"PSA {_line_word(kind)} {line_id} ({line.dated}, {money(line.currency, line.amount)}) "
                f"is billed in the PSA on invoice {line.invoice_id}; {description}.",
                psa_value=f"invoice {line.invoice_id}, project {line.project_id}",
                erp_value=erp_text,
                amount_at_stake=line.amount,
                currency=line.currency,
                suggested_owner="billing",
                project_id=line.project_id,
                project_manager_id=books.manager(line.project_id),
            )
        )
    return findings


def _elsewhere(
    line: _Line, target: Invoice | None, carried: Sequence[tuple[Invoice, InvoiceLine]]
) -> tuple[str, str, str] | None:
    """(attribute, the ERP's value, what is wrong) for a billed PSA line, or None when the ERP agrees."""
    on = ", ".join(_label(invoice) for invoice, _ in carried)
    if len(carried) > 1:
        return "invoice", f"invoices {on}", f"the ERP bills it {len(carried)} times: on {on}"
    if not carried:
        if target is None:
            return None
        return "invoice", "on no invoice line", f"no line of ERP invoice {_label(target)} bills it"
    [(invoice, _)] = carried
    if target is None or invoice.id != target.id:
        return (
            "invoice",
            f"invoice {_label(invoice)}",
            f"the ERP bills it on invoice {_label(invoice)} instead",
        )
    if invoice.project_id and line.project_id and invoice.project_id != line.project_id:
        return (
            "project",
            f"invoice {_label(invoice)}, project {invoice.project_id}",
            f"ERP invoice {_label(invoice)} bills it to project {invoice.project_id}, the PSA books it to "
            f"project {line.project_id}",
        )
    return None


def _linked_invoices(books: _Books) -> set[str]:
    """The ERP invoices at least one PSA line is billed to."""
    linked = set()
    for line in books.lines.values():
        target = books.invoice(line.invoice_id)
        if target is not None:
            linked.add(target.id)
    return linked


def rule_erp_lines_not_billed_in_psa(
    books: _Books, policy: ReconciliationPolicy
) -> list[ReconciliationFinding]:
    """RC3: an ERP invoice line bills a PSA line the PSA does not show billed, or does not have at all.

    The next billing run would bill an unbilled line again. Only invoices with some PSA link are read line by
    line; an invoice with none is one RC4 finding, not one per line.
    """
    linked = _linked_invoices(books)
    findings = []
    for invoice in _billing(books.invoices.values()):
        if invoice.id not in linked:
            continue
        for line, kind in _psa_lines_of(invoice):
            sources = list(dict.fromkeys(line.source_ids))
            for source_id in sources:
                psa = books.lines.get((kind, source_id))
                if psa is not None and psa.invoice_id is not None:
                    continue  # billed in the PSA: here or elsewhere (RC1, RC2)
                findings.append(_not_billed_in_psa(books, invoice, line, kind, source_id, psa, len(sources)))
    return findings


def _not_billed_in_psa(
    books: _Books,
    invoice: Invoice,
    line: InvoiceLine,
    kind: LineKind,
    source_id: str,
    psa: _Line | None,
    sources: int,
) -> ReconciliationFinding:
    amount: Decimal | None
    if psa is not None:
        amount, currency = psa.amount, psa.currency
        psa_text = f"not billed ({money(psa.currency, psa.amount)}, {psa.dated})"
        effect = "the PSA still shows it unbilled, so the next billing run would bill it again"
    else:
        amount, currency = (line.amount, invoice.currency) if sources == 1 else (None, invoice.currency)
        psa_text = f"no such {_line_word(kind)}"
        effect = "the PSA has no such line, so nothing supports this part of the invoice"
    project_id = invoice.project_id or (psa.project_id if psa else None)
    return ReconciliationFinding(
        rule_id="RC3",
        key=f"RC3:{invoice.id}:{kind}:{source_id}",
        subject=FindingSubject(kind="invoice_line", id=f"{invoice.id}/{kind}:{source_id}"),
        attribute="billed",
        description=f"ERP invoice {_label(invoice)} bills PSA {_line_word(kind)} {source_id} "
        f"('{line.description}'); {effect}.",
        psa_value=psa_text,
        erp_value=f"invoice {_label(invoice)}: {money(invoice.currency, line.amount)}",
        amount_at_stake=amount,
        currency=currency,
        suggested_owner="billing",
        project_id=project_id,
        project_manager_id=books.manager(project_id),
    )


def rule_invoices_without_psa_link(
    books: _Books, policy: ReconciliationPolicy
) -> list[ReconciliationFinding]:
    """RC4: an ERP invoice none of whose lines is billed to it in the PSA.

    An invoice of milestones, a retainer or fees alone bills the contract, not PSA lines: its project being a PSA
    project is its link. So is a credit note's (a negative total), whatever it credits: it bills no PSA line, it
    takes back part of an invoice of that project (the ERP adapter gives a credit memo the project of the invoice
    it credits). A credit note of no PSA project is raised in the ERP alone, and at stake by its size.
    """
    linked = _linked_invoices(books)
    findings = []
    for invoice in _billing(books.invoices.values()):
        if invoice.id in linked:
            continue
        psa_lines = _psa_lines_of(invoice)
        credit_note = invoice.grand_total < 0
        if (credit_note or not psa_lines) and invoice.project_id in books.psa_projects:
            continue
        cause = _why_unlinked(books, psa_lines)
        findings.append(
            ReconciliationFinding(
                rule_id="RC4",
                key=f"RC4:{invoice.id}",
                subject=FindingSubject(kind="invoice", id=invoice.id),
                attribute="psa_link",
                description=f"ERP invoice {_label(invoice)} of {invoice.posting_date} for client "
                f"{invoice.client_id} ({money(invoice.currency, invoice.net_total)} before tax) has no PSA "
                f"billing link; {cause}.",
                psa_value="no line billed to it",
                erp_value=f"invoice {_label(invoice)}, {invoice.status}, {money(invoice.currency, invoice.net_total)}",
                amount_at_stake=abs(invoice.net_total),  # a credit note raised alone is at stake too
                currency=invoice.currency,
                suggested_owner="accounts_receivable",
                project_id=invoice.project_id,
                project_manager_id=books.manager(invoice.project_id),
            )
        )
    return findings


def _why_unlinked(books: _Books, psa_lines: Sequence[tuple[InvoiceLine, LineKind]]) -> str:
    """What an unlinked invoice's lines say of its cause: the PSA not marked when it posted, the PSA lines
    billed on another invoice, or an invoice raised in the ERP alone."""
    known = [
        books.lines[(kind, source_id)]
        for line, kind in psa_lines
        for source_id in dict.fromkeys(line.source_ids)
        if (kind, source_id) in books.lines
    ]
    unbilled = [line for line in known if line.invoice_id is None]
    if unbilled:
        return (
            f"the PSA does not show the {_lines(unbilled)} it bills as billed (the PSA was not updated when it "
            "posted): mark them billed to it, or the next billing run bills them again"
        )
    if known:
        return f"the PSA has the {_lines(known)} it bills billed on other invoices (RC2)"
    return "it was raised in the ERP outside the PSA: no PSA time or expense supports it"


def rule_psa_lines_on_unknown_invoices(
    books: _Books, policy: ReconciliationPolicy
) -> list[ReconciliationFinding]:
    """RC5: PSA lines billed to an invoice the ERP does not have, or has cancelled, one finding per invoice and
    currency.

    The work counts as billed in the PSA, so no run will bill it, yet no invoice does. An invoice the ERP does not
    have is only reported when one of its lines is dated in the period: lines billed before it are the earlier
    close's.
    """
    groups: dict[tuple[str, str], list[_Line]] = defaultdict(list)
    for _, line in sorted(books.lines.items()):
        if line.invoice_id is None:
            continue
        target = books.invoice(line.invoice_id)
        if target is None or target.status == "cancelled":
            groups[(line.invoice_id, line.currency)].append(line)
    findings = []
    for (reference, currency), lines in sorted(groups.items()):
        target = books.invoice(reference)
        if target is None and not any(line.dated >= books.inputs.period_start for line in lines):
            continue
        findings.append(_unknown_invoice(books, reference, currency, lines, target))
    return findings


def _unknown_invoice(
    books: _Books, reference: str, currency: str, lines: Sequence[_Line], target: Invoice | None
) -> ReconciliationFinding:
    total = sum((line.amount for line in lines), _ZERO)
    projects = sorted({line.project_id for line in lines if line.project_id})
    project_id = projects[0] if len(projects) == 1 else None
    state = "does not have" if target is None else "has cancelled"
    return ReconciliationFinding(
        rule_id="RC5",
        key=f"RC5:{reference}:{currency}",
        subject=FindingSubject(kind="invoice", id=reference),
        attribute="invoice",
        description=f"PSA {_lines(lines)} of project(s) "
        f"{', '.join(projects) or 'none'} for {money(currency, total)} {'is' if len(lines) == 1 else 'are'} marked billed on invoice {reference}, "
        f"which the ERP {state}: the work counts as billed, yet no invoice bills it.",
        psa_value=f"billed on {reference}: {_lines(lines)}, {money(currency, total)}",
        erp_value="no such invoice" if target is None else f"invoice {_label(target)} cancelled",
        amount_at_stake=total,
        currency=currency,
        suggested_owner="billing",
        project_id=project_id,
        project_manager_id=books.manager(project_id),
    )


# ------------------------------------------------------------------------------------------------------------
# RC6: the work in progress, by age
# ------------------------------------------------------------------------------------------------------------


def age_bucket(age_days: int) -> WipBucket:
    """0-30, 31-60, 61-90 or 90+ days (91 and over); work dated after the run's day counts as new."""
    if age_days <= 30:
        return "0-30"
    if age_days <= 60:
        return "31-60"
    if age_days <= 90:
        return "61-90"
    return "90+"


def _unbilled(books: _Books) -> list[_Line]:
    """Approved billable lines up to the period's end, billed neither in the PSA nor on an ERP invoice (a line
    the ERP bills but the PSA does not show billed is RC3's or RC4's, not work in progress)."""
    return [
        line
        for key, line in sorted(books.lines.items())
        if line.approved
        and line.billable
        and line.invoice_id is None
        and line.dated <= books.inputs.period_end
        and key not in books.carried
        and _bills_something(line)
    ]


def _bills_something(line: _Line) -> bool:
    """What the billing run would put on an invoice: time with billing hours (at whatever rate), an expense with
    an amount. A line of no billing hours is never billed, so it would age as WIP forever."""
    return line.quantity > 0 if line.kind == "time" else line.amount > 0


def wip_table(books: _Books) -> list[WipRow]:
    """The unbilled approved work per project and currency, by age bucket."""
    groups: dict[tuple[str, str], list[_Line]] = defaultdict(list)
    for line in _unbilled(books):
        groups[(line.project_id or "", line.currency)].append(line)
    rows = []
    for (project_id, currency), lines in sorted(groups.items()):
        buckets: dict[WipBucket, Decimal] = dict.fromkeys(get_args(WipBucket), _ZERO)
        for line in lines:
            buckets[age_bucket((books.inputs.as_of - line.dated).days)] += line.amount
        rows.append(
            WipRow(
                project_id=project_id or None,
                currency=currency,
                project_manager_id=books.manager(project_id or None),
                days_0_30=buckets["0-30"],
                days_31_60=buckets["31-60"],
                days_61_90=buckets["61-90"],
                days_over_90=buckets["90+"],
                total=sum((line.amount for line in lines), _ZERO),
                hours=sum((line.quantity for line in lines if line.kind == "time"), _ZERO),
                lines=len(lines),
                oldest=min(line.dated for line in lines),
            )
        )
    return rows


def aged_wip_lines(
    inputs: ReconciliationInputs, policy: ReconciliationPolicy, project_id: str | None, currency: str
) -> tuple[list[str], list[str]]:
    """The time entry and expense ids of an RC6 finding (one project and currency): what a reviewer's write-off
    takes out of billing in the PSA."""
    books = _Books.of(inputs)
    aged = [
        line
        for line in _unbilled(books)
        if (line.project_id or None) == (project_id or None)
        and line.currency == currency
        and (inputs.as_of - line.dated).days > policy.wip_age_days
    ]
    return [line.id for line in aged if line.kind == "time"], [
        line.id for line in aged if line.kind == "expense"
    ]


def rule_aged_wip(books: _Books, policy: ReconciliationPolicy) -> list[ReconciliationFinding]:
    """RC6: approved billable work unbilled for more than ``policy.wip_age_days``, one finding per project and
    currency (whatever bucket it ages into next, it stays the same finding)."""
    groups: dict[tuple[str, str], list[_Line]] = defaultdict(list)
    for line in _unbilled(books):
        if (books.inputs.as_of - line.dated).days > policy.wip_age_days:
            groups[(line.project_id or "", line.currency)].append(line)
    findings = []
    for (project_id, currency), lines in sorted(groups.items()):
        total = sum((line.amount for line in lines), _ZERO)
        oldest = min(line.dated for line in lines)
        text = (
            f"{money(currency, total)} in {_lines(lines)} unbilled for over {policy.wip_age_days} days, "
            f"the oldest from {oldest}"
        )
        findings.append(
            ReconciliationFinding(
                rule_id="RC6",
                key=f"RC6:{project_id or '-'}:{currency}",
                subject=FindingSubject(kind="project", id=project_id or "-"),
                attribute="unbilled_work",
                description=f"As of {books.inputs.as_of}, project {project_id or '(none)'} has {text}: "
                "bill it, or write it off if it will never be billed.",
                psa_value=text,
                amount_at_stake=total,
                currency=currency,
                suggested_owner="project_manager",
                project_id=project_id or None,
                project_manager_id=books.manager(project_id or None),
            )
        )
    return findings


# ------------------------------------------------------------------------------------------------------------
# RC7, RC8: customer master data
# ------------------------------------------------------------------------------------------------------------

CustomerAttribute = Literal["legal_name", "tax_id", "billing_address", "currency", "payment_terms"]
_CUSTOMER_LABELS: dict[CustomerAttribute, str] = {
    "legal_name": "legal name",
    "tax_id": "tax id",
    "billing_address": "billing address",
    "currency": "currency",
    "payment_terms": "payment terms",
}


def _crm_accounts_by_customer(books: _Books) -> dict[str, Client]:
    """ERP customer id -> its CRM account: the links onboarding recorded, else onboarding's own match."""
    erp = sorted(_unique_by_id(books.inputs.erp_customers).values(), key=lambda c: c.id)
    erp_ids = {customer.id for customer in erp}
    found: dict[str, Client] = {}
    for account in sorted(_unique_by_id(books.inputs.crm_accounts).values(), key=lambda c: c.id):
        customer_id = books.inputs.crm_account_links.get(account.id)
        if customer_id is None:
            decision = match_customer(account, erp)
            customer_id = decision.customer_id if decision.kind == "existing" else None
        if customer_id in erp_ids:
            found.setdefault(customer_id, account)
    return found


def _address_text(address: Address | None) -> str:
    if address is None:
        return "no address"
    parts = [address.line1, address.line2, address.city, address.region, address.postal_code, address.country]
    return ", ".join(part for part in parts if part)


def _same(attribute: CustomerAttribute, a: Client, b: Client, policy: ReconciliationPolicy) -> bool:
    if attribute == "legal_name":
        return normalize_legal_name(a.customer_name) == normalize_legal_name(b.customer_name)
    if attribute == "tax_id":
        first = normalize_tax_id(a.tax_id) if a.tax_id is not None else None
        second = normalize_tax_id(b.tax_id) if b.tax_id is not None else None
        return first == second
    if attribute == "billing_address":
        if a.address is None or b.address is None:
            return a.address is None and b.address is None
        score = address_score(a.address, b.address)
        return score is not None and score >= policy.address_match_score
    if attribute == "currency":
        return a.default_currency == b.default_currency
    # Payment terms the CRM or PSA does not keep (no field mapped, as a Salesforce org without one) are not a
    # difference: only two kept values that disagree are.
    if a.payment_terms_days is None or b.payment_terms_days is None:
        return True
    return a.payment_terms_days == b.payment_terms_days


def _shown(attribute: CustomerAttribute, client: Client, erp: Client, policy: ReconciliationPolicy) -> str:
    """What the finding shows of one system's value; a tax id never: only whether it is on file and agrees."""
    if attribute == "tax_id":
        if client.tax_id is None:
            return "not on file"
        if client is erp:
            return "on file"
        if erp.tax_id is None:
            return "on file, none in ERP"
        return "same as ERP" if _same("tax_id", client, erp, policy) else "differs from ERP"
    if attribute == "legal_name":
        return client.customer_name
    if attribute == "billing_address":
        return _address_text(client.address)
    if attribute == "currency":
        return client.default_currency
    return "not set" if client.payment_terms_days is None else f"{client.payment_terms_days} days"


def rule_customer_master_drift(books: _Books, policy: ReconciliationPolicy) -> list[ReconciliationFinding]:
    """RC7: a customer's legal name (compared without case, punctuation or legal form: "Acme Inc." is "ACME
    INC"), tax id, billing address, currency or payment terms differ between the ERP and the PSA or CRM.

    The ERP is the reference, since it invoices: one finding per customer and attribute, the PSA's and the CRM's
    values beside the ERP's.
    """
    psa_accounts = _unique_by_id(books.inputs.psa_accounts)
    crm_accounts = _crm_accounts_by_customer(books)
    findings = []
    for customer in sorted(_unique_by_id(books.inputs.erp_customers).values(), key=lambda c: c.id):
        others = {"psa": psa_accounts.get(customer.id), "crm": crm_accounts.get(customer.id)}
        for attribute in _CUSTOMER_LABELS:
            differing = [
                side
                for side, client in others.items()
                if client is not None and not _same(attribute, client, customer, policy)
            ]
            if differing:
                findings.append(_customer_finding(customer, others, attribute, differing, policy))
    return findings


def _customer_finding(
    customer: Client,
    others: dict[str, Client | None],
    attribute: CustomerAttribute,
    differing: list[str],
    policy: ReconciliationPolicy,
) -> ReconciliationFinding:
    values = {side: (_shown(attribute, c, customer, policy) if c else None) for side, c in others.items()}
    erp_value = _shown(attribute, customer, customer, policy)
    label = _CUSTOMER_LABELS[attribute]
    if attribute == "tax_id":  # whether each is on file and agrees, never the number
        detail = "; ".join(f"{side.upper()}: {values[side]}" for side in differing) + f" (ERP: {erp_value})"
    else:
        shown = "; ".join(f"{side.upper()} {values[side]!r}" for side in differing)
        detail = f"ERP {erp_value!r}; {shown}"
    return ReconciliationFinding(
        rule_id="RC7",
        key=f"RC7:{customer.id}:{attribute}",
        subject=FindingSubject(kind="customer", id=customer.id),
        attribute=attribute,
        description=f"Customer {customer.customer_name} ({customer.id}), {label} not the same in every system: "
        f"{detail}.",
        psa_value=values["psa"],
        erp_value=erp_value,
        crm_value=values["crm"],
        suggested_owner="master_data",
    )


def rule_customer_missing(books: _Books, policy: ReconciliationPolicy) -> list[ReconciliationFinding]:
    """RC8: a customer with a project or an invoice here that the PSA or the ERP does not have.

    Customers without activity are left alone: the ERP keeps customers of long-closed work, and a PSA's accounts
    include prospects. A system whose customers were not read (an empty list) is not judged.
    """
    erp = _unique_by_id(books.inputs.erp_customers)
    psa = _unique_by_id(books.inputs.psa_accounts)
    projects = [*books.psa_projects.values(), *books.erp_projects.values()]
    active = {project.client_id for project in projects} | {
        invoice.client_id for invoice in _billing(books.invoices.values())
    }
    findings = []
    for customer_id in sorted(active):
        for system, records in (("ERP", erp), ("PSA", psa)):
            if not records or customer_id in records:
                continue
            known = erp.get(customer_id) or psa.get(customer_id)
            name = known.customer_name if known else customer_id
            findings.append(
                ReconciliationFinding(
                    rule_id="RC8",
                    key=f"RC8:{customer_id}:missing_in_{system.lower()}",
                    subject=FindingSubject(kind="customer", id=customer_id),
                    attribute="record",
                    description=f"Customer {name} ({customer_id}) has projects or invoices in the period but the "
                    f"{system} has no customer {customer_id}.",
                    psa_value="missing" if system == "PSA" else ("present" if customer_id in psa else None),
                    erp_value="missing" if system == "ERP" else ("present" if customer_id in erp else None),
                    suggested_owner="master_data",
                )
            )
    return findings


# ------------------------------------------------------------------------------------------------------------
# RC9, RC10: projects
# ------------------------------------------------------------------------------------------------------------

ProjectAttribute = Literal["project_name", "client_id", "currency", "status", "billing_model"]
_PROJECT_OWNERS: dict[ProjectAttribute, Owner] = {
    "project_name": "master_data",
    "client_id": "master_data",
    "currency": "finance",
    "status": "project_manager",
    "billing_model": "billing",
}


def _project_name(name: str) -> str:
    return " ".join(name.casefold().split())


def _project_pairs(books: _Books) -> tuple[list[tuple[Project, Project]], list[Project], list[Project]]:
    """(PSA, ERP) pairs by id, then by name and client among the rest; the PSA's and the ERP's unmatched."""
    pairs = [
        (p, books.erp_projects[i]) for i, p in sorted(books.psa_projects.items()) if i in books.erp_projects
    ]
    psa_rest = [p for i, p in sorted(books.psa_projects.items()) if i not in books.erp_projects]
    erp_rest = {i: p for i, p in sorted(books.erp_projects.items()) if i not in books.psa_projects}
    unmatched = []
    for project in psa_rest:
        twin = next(
            (
                e
                for e in erp_rest.values()
                if _project_name(e.project_name) == _project_name(project.project_name)
                and e.client_id == project.client_id
            ),
            None,
        )
        if twin is None:
            unmatched.append(project)
        else:
            pairs.append((project, twin))
            del erp_rest[twin.id]
    return pairs, unmatched, list(erp_rest.values())


def rule_project_drift(books: _Books, policy: ReconciliationPolicy) -> list[ReconciliationFinding]:
    """RC9: a project whose code (a twin of the same name and client under another id), name, client, currency,
    status or billing model differ between PSA and ERP; one finding per project and attribute."""
    pairs, _, _ = _project_pairs(books)
    findings: list[ReconciliationFinding] = []
    for psa, erp in pairs:
        differences: list[tuple[str, str, str, Owner]] = []
        if psa.id != erp.id:
            differences.append(("code", psa.id, erp.id, "master_data"))
        for attribute, owner in _PROJECT_OWNERS.items():
            mine, theirs = str(getattr(psa, attribute)), str(getattr(erp, attribute))
            same = (
                _project_name(mine) == _project_name(theirs)
                if attribute == "project_name"
                else mine == theirs
            )
            if not same:
                differences.append((attribute, mine, theirs, owner))
        manager = books.manager(psa.id)
        findings.extend(
            ReconciliationFinding(
                rule_id="RC9",
                key=f"RC9:{psa.id}:{what}",
                subject=FindingSubject(kind="project", id=psa.id),
                attribute=what,
                description=f"Project {psa.id} ({psa.project_name}): the {what.replace('_', ' ')} is "
                f"{in_psa!r} in the PSA but {in_erp!r} in the ERP.",
                psa_value=in_psa,
                erp_value=in_erp,
                suggested_owner=who,
                project_id=psa.id,
                project_manager_id=manager,
            )
            for what, in_psa, in_erp, who in differences
        )
    return findings


def rule_project_missing(books: _Books, policy: ReconciliationPolicy) -> list[ReconciliationFinding]:
    """RC10: an open project, or one with work or invoices in the period, that the other system does not have.

    Completed projects of earlier periods are left alone: the ERP keeps them long after the PSA stops listing
    them as billable.
    """
    _, psa_only, erp_only = _project_pairs(books)
    active = books.active_projects()
    findings = []
    for project, missing_in in [*((p, "ERP") for p in psa_only), *((p, "PSA") for p in erp_only)]:
        if project.status != "open" and project.id not in active:
            continue
        findings.append(
            ReconciliationFinding(
                rule_id="RC10",
                key=f"RC10:{project.id}:missing_in_{missing_in.lower()}",
                subject=FindingSubject(kind="project", id=project.id),
                attribute="record",
                description=f"Project {project.id} ({project.project_name}, client {project.client_id}, "
                f"{project.status}) is not in the {missing_in}"
                + (
                    ": its work cannot be invoiced there."
                    if missing_in == "ERP"
                    else ": nothing tracks its work."
                ),
                psa_value="missing" if missing_in == "PSA" else project.status,
                erp_value="missing" if missing_in == "ERP" else project.status,
                suggested_owner="master_data",
                project_id=project.id,
                project_manager_id=books.manager(project.id),
            )
        )
    return findings


# ------------------------------------------------------------------------------------------------------------
# RC11: rate cards
# ------------------------------------------------------------------------------------------------------------

_RateKey = tuple[str, str, str]  # who (worker, role or any), activity type, currency


def _rate_key(line: RateCardLine) -> _RateKey:
    who = f"worker={line.worker_id}" if line.worker_id else f"role={line.role}" if line.role else "default"
    return who, line.activity_type, line.currency


def rule_rate_card_drift(books: _Books, policy: ReconciliationPolicy) -> list[ReconciliationFinding]:
    """RC11: per project, a rate card one system has and the other lacks, a rate line one side lacks, or a
    billing rate that differs by more than the tolerance."""
    findings = []
    for project_id in sorted(set(books.inputs.psa_rate_cards) | set(books.inputs.erp_rate_cards)):
        psa = books.inputs.psa_rate_cards.get(project_id)
        erp = books.inputs.erp_rate_cards.get(project_id)
        if psa is None and erp is None:
            continue
        manager = books.manager(project_id)
        if psa is not None and erp is not None:
            findings.extend(_rate_line_findings(project_id, psa, erp, manager, policy))
            continue
        missing_in, present = ("PSA", erp) if erp is not None else ("ERP", psa)
        findings.append(
            ReconciliationFinding(
                rule_id="RC11",
                key=f"RC11:{project_id}:card",
                subject=FindingSubject(kind="rate_card", id=project_id),
                attribute="rate_card",
                description=f"Project {project_id} bills by rate card {present.id if present else '?'} in the "
                f"{'ERP' if missing_in == 'PSA' else 'PSA'}, but the {missing_in} has no rate card for it.",
                psa_value="no rate card" if psa is None else psa.id,
                erp_value="no rate card" if erp is None else erp.id,
                suggested_owner="billing",
                project_id=project_id,
                project_manager_id=manager,
            )
        )
    return findings


def _rate_line_findings(
    project_id: str, psa: RateCard, erp: RateCard, manager: str | None, policy: ReconciliationPolicy
) -> list[ReconciliationFinding]:
    mine = {_rate_key(line): line for line in psa.lines}
    theirs = {_rate_key(line): line for line in erp.lines}
    findings = []
    for key in sorted(set(mine) | set(theirs)):
        who, activity, currency = key
        a, b = mine.get(key), theirs.get(key)
        if a is not None and b is not None and abs(a.billing_rate - b.billing_rate) <= policy.tolerance:
            continue
        psa_text = f"{money(currency, a.billing_rate)}/h" if a else "no line"
        erp_text = f"{money(currency, b.billing_rate)}/h" if b else "no line"
        attribute = "billing_rate" if a and b else "line"
        findings.append(
            ReconciliationFinding(
                rule_id="RC11",
                key=f"RC11:{project_id}:{who}:{activity}:{currency}",
                subject=FindingSubject(kind="rate_card_line", id=f"{project_id}/{who}/{activity}/{currency}"),
                attribute=attribute,
                description=f"Project {project_id}'s rate for {who.replace('=', ' ')} on {activity} in {currency}: "
                f"PSA {psa_text}, ERP {erp_text}.",
                psa_value=psa_text,
                erp_value=erp_text,
                suggested_owner="billing",
                project_id=project_id,
                project_manager_id=manager,
            )
        )
    return findings


# ------------------------------------------------------------------------------------------------------------
# The run
# ------------------------------------------------------------------------------------------------------------

_Rule = Callable[[_Books, ReconciliationPolicy], list[ReconciliationFinding]]

RULE_FUNCTIONS: dict[RuleId, _Rule] = {
    "RC1": rule_billed_line_differences,
    "RC2": rule_billed_lines_elsewhere,
    "RC3": rule_erp_lines_not_billed_in_psa,
    "RC4": rule_invoices_without_psa_link,
    "RC5": rule_psa_lines_on_unknown_invoices,
    "RC6": rule_aged_wip,
    "RC7": rule_customer_master_drift,
    "RC8": rule_customer_missing,
    "RC9": rule_project_drift,
    "RC10": rule_project_missing,
    "RC11": rule_rate_card_drift,
}


def _route(finding: ReconciliationFinding, policy: ReconciliationPolicy) -> Route:
    if finding.rule_id in policy.always_review:
        return "review"
    if finding.amount_at_stake is None or finding.currency is None:
        return "listed"
    return "review" if finding.amount_at_stake >= policy.threshold(finding.currency) else "listed"


def _totals(pairs: Iterable[tuple[str, Decimal]]) -> dict[str, Decimal]:
    totals: dict[str, Decimal] = defaultdict(lambda: _ZERO)
    for currency, amount in pairs:
        totals[currency] += amount
    return dict(sorted(totals.items()))


def reconcile(
    inputs: ReconciliationInputs, policy: ReconciliationPolicy | None = None
) -> ReconciliationResult:
    """Runs the rules the policy turns on over one period's records; every finding once (by key), sorted by rule
    then key, routed to review or listed."""
    policy = policy or ReconciliationPolicy()
    books = _Books.of(inputs)
    rules_run = [rule for rule in RULE_IDS if policy.is_on(rule)]
    by_key: dict[str, ReconciliationFinding] = {}
    for rule in rules_run:
        for finding in RULE_FUNCTIONS[rule](books, policy):
            by_key.setdefault(finding.key, finding.model_copy(update={"route": _route(finding, policy)}))
    order = {rule: index for index, rule in enumerate(RULE_IDS)}
    findings = sorted(by_key.values(), key=lambda f: (order[f.rule_id], f.key))
    wip = wip_table(books)
    return ReconciliationResult(
        period_start=inputs.period_start,
        period_end=inputs.period_end,
        as_of=inputs.as_of,
        rules_run=rules_run,
        findings=findings,
        counts_by_rule={rule: sum(1 for f in findings if f.rule_id == rule) for rule in rules_run},
        amount_at_stake=_totals(
            (f.currency, f.amount_at_stake) for f in findings if f.amount_at_stake is not None and f.currency
        ),
        wip=wip,
        wip_totals=_totals((row.currency, row.total) for row in wip),
        to_review=[f.key for f in findings if f.route == "review"],
        listed=[f.key for f in findings if f.route == "listed"],
    )


def compare_runs(previous_open_keys: Iterable[str], current: ReconciliationResult) -> RunComparison:
    """Which of the previous run's open findings this run closes (no longer found), which still hold, and which
    are new. A finding of a rule this run did not run is ``not_checked``, never closed."""
    previous = set(previous_open_keys)
    found = {finding.key for finding in current.findings}
    ran = set(current.rules_run)
    not_checked = {key for key in previous - found if key.split(":", 1)[0] not in ran}
    return RunComparison(
        new=sorted(found - previous),
        still_open=sorted(found & previous),
        closed=sorted(previous - found - not_checked),
        not_checked=sorted(not_checked),
    )
