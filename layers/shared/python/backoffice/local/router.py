"""The local stand-in for EventBridge's delivery to rule targets.

moto stores ``PutEvents`` but cannot deliver to a Lambda or state-machine target, so the runtime wraps moto's
``put_events`` and hands every accepted event on the product's bus to this router. The router matches the catalog's
rule patterns with EventBridge semantics and delivers each match to the ``start_case`` function with the same input the
CDK rule target gives it in AWS (or, for a rule naming a function, the event itself: the ingest rules, and the
catch-all that parks an event from a known system no other rule takes). A delivery that fails is parked with its error, never raised into the sender.

EventBridge accepts an event and delivers it afterwards: ``PutEvents`` answers before any target runs. The server
(``backoffice serve``) does the same, with ``workers`` delivery threads behind a queue, so a burst of events is
accepted at the bus's pace, not one case start at a time. An in-process runtime (tests, ``make run``) delivers while
accepting (``workers=0``), so the test that put an event finds its delivery at once.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from backoffice.events.pattern import matches
from backoffice.local.polling import Pauses
from infra.catalog import Catalog

log = logging.getLogger(__name__)

Deliver = Callable[[str, dict[str, Any]], tuple[Any, dict[str, Any] | None]]
Park = Callable[[dict[str, Any]], None]


@dataclass(frozen=True)
class Delivery:
    event_id: str
    detail_type: str
    rule: str
    status: str  # started | duplicate | rejected | parked | ingested | failed
    case_id: str | None


class EventRouter:
    def __init__(
        self,
        catalog: Catalog,
        state_machine_arn: Mapping[str, str],
        deliver: Deliver,
        park: Park,
        workers: int = 0,
    ) -> None:
        self._catalog = catalog
        self._state_machine_arn = state_machine_arn
        self._deliver = deliver
        self._park = park
        self._lock = threading.Lock()
        self.deliveries: list[Delivery] = []
        self._queue: queue.Queue[dict[str, Any] | None] | None = queue.Queue() if workers else None
        self._workers = [
            threading.Thread(target=self._work, name=f"bus-delivery-{n}", daemon=True) for n in range(workers)
        ]
        for worker in self._workers:
            worker.start()

    def accept(self, event: dict[str, Any]) -> None:
        """An event the bus accepted: delivered now (no workers), or queued for the delivery threads."""
        if self._queue is None:
            self.route(event)
        else:
            self._queue.put(event)

    def wait_delivered(self, timeout: float) -> bool:
        """Whether every accepted event has been delivered within ``timeout`` seconds."""
        if self._queue is None:
            return True
        deadline = time.monotonic() + timeout
        pause = Pauses()
        while self._queue.unfinished_tasks:
            if time.monotonic() > deadline:
                return False
            pause()
        return True

    def stop(self) -> None:
        if self._queue is not None:
            for _ in self._workers:
                self._queue.put(None)
            for worker in self._workers:
                worker.join(timeout=30)

    def _work(self) -> None:
        assert self._queue is not None
        while True:
            event = self._queue.get()
            try:
                if event is None:
                    return
                self.route(event)
            except (
                Exception
            ):  # a delivery's fault is parked by route(); anything else must not kill the thread
                log.exception("delivering event %s failed", (event or {}).get("id"))
            finally:
                self._queue.task_done()

    def route(self, event: dict[str, Any]) -> list[Delivery]:
        """Deliver one event to every matching rule's workflow."""
        done = []
        for rule in self._catalog.rules:
            try:
                matched = matches(rule.pattern, event)
            except Exception as bad_pattern:  # a broken pattern must not stop the other rules
                log.error("rule %s could not be evaluated: %s", rule.name, bad_pattern)
                continue
            if not matched:
                continue
            if rule.function:
                # An ingest rule: the function gets the event itself, as an EventBridge Lambda target does.
                result, error = self._deliver(rule.function, event)
                if error:
                    self._park(
                        {"reason": "delivery failed", "rule": rule.name, "error": error, "event": event}
                    )
                told = result if isinstance(result, dict) else {}
                delivery = Delivery(
                    event["id"],
                    event["detail-type"],
                    rule.name,
                    "failed" if error else str(told.get("status") or "ingested"),
                    None if error else told.get("case_id"),
                )
                with self._lock:
                    self.deliveries.append(delivery)
                done.append(delivery)
                continue
            workflow = self._catalog.state_machine(rule.workflow)
            request = {
                "rule": rule.name,
                "workflow": workflow.name,
                "state_machine_arn": self._state_machine_arn[workflow.name],
                "case_key": rule.case_key,
                "execution_prefix": rule.execution_prefix or workflow.execution_prefix,
                "event": event,
                **({"attempt_key": rule.attempt_key} if rule.attempt_key else {}),
            }
            result, error = self._deliver("start_case", request)
            if error:
                # What EventBridge does after its retries: the event goes to the rule target's dead-letter queue.
                self._park({"reason": "delivery failed", "rule": rule.name, "error": error, "event": event})
                delivery = Delivery(event["id"], event["detail-type"], rule.name, "failed", None)
            else:
                delivery = Delivery(
                    event["id"], event["detail-type"], rule.name, result["status"], result["case_id"]
                )
            with self._lock:
                self.deliveries.append(delivery)
            done.append(delivery)
        return done
