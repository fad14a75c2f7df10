"""The payloads purchase approval's state machine passes its step handlers (``tests/contract/
test_asl_handler_inputs.py`` holds them to the ASL)."""

from __future__ import annotations

from typing import Any

from backoffice.steps import StepInput


class CheckRequestInput(StepInput):
    event: dict[str, Any]  # the Purchase Requested event, as start_case passed it


class WaitForVendorInput(StepInput):
    event: dict[str, Any]
    vendor_key: str
    task_token: str  # a credential of the waiting execution: never logged, never audited


class CheckBudgetInput(StepInput):
    event: dict[str, Any]
    vendor_id: str
    # True: 'Recheck the project budget', just before the order, counting the orders issued since the check.
    recheck: bool = False
    # The purchase was over budget when approved (the owner and finance decided): the recheck holds it regardless.
    approved_over_budget: bool = False


class CreateOrderInput(StepInput):
    event: dict[str, Any]
    vendor_id: str
    decided_by: list[str] = []


class NotifyVendorInput(StepInput):
    event: dict[str, Any]
    order: dict[str, Any]
