"""Resource onboarding's conditional writes raced on threads against the local runtime's DynamoDB (docs/
concurrency.md): the sandbox PSA's one resource per worker and one holder per staffing request, and one case for
many deliveries of one hire (``test_resource_onboarding.py``). Each race releases its calls together from a barrier; counts are exact."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import date
from decimal import Decimal
from typing import Any, TypeVar

import pytest

from backoffice.connectors.ports import PsaResource
from backoffice.connectors.sandbox import SandboxPsa
from backoffice.local.runtime import LocalRuntime

T = TypeVar("T")


def at_once(calls: list[Callable[[], T]]) -> list[T]:
    barrier = threading.Barrier(len(calls))
    answers: list[Any] = [None] * len(calls)

    def run(index: int, call: Callable[[], T]) -> None:
        barrier.wait()
        answers[index] = call()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a call did not come back"
    return answers


@pytest.fixture(scope="module")
def local() -> Iterator[LocalRuntime]:
    with LocalRuntime(retry_time_scale=0.001, api_port=None) as runtime:
        yield runtime


def resource(worker_id: str, start: date = date(2027, 1, 11)) -> PsaResource:
    return PsaResource(
        worker_id=worker_id,
        name="Nadia Brooks",
        email=None,
        employment="employee",
        role="engineer",
        practice="technology",
        cost_rate=Decimal(85),
        bill_rate=Decimal(190),
        currency="USD",
        start_date=start,
        weekly_hours=Decimal(40),
    )


@pytest.mark.parametrize("trial", range(3))
def test_eight_set_ups_of_one_worker_at_once_make_one_resource(local: LocalRuntime, trial: int) -> None:
    # Given a worker not yet in the PSA, set up by eight copies of the step at once (a retry racing the first try)
    psa = SandboxPsa(local.sandbox())
    worker = f"W-RACE-{trial}"
    saved = at_once([lambda: psa.save_resource(resource(worker)) for _ in range(8)])
    # Then one resource exists and exactly one copy created it
    assert {s.id for s in saved} == {f"RES-{worker}"}
    assert sum(s.created for s in saved) == 1
    assert len([r for r in local.sandbox().all("psa", "resource") if r["worker_id"] == worker]) == 1


@pytest.mark.parametrize("trial", range(3))
def test_eight_hires_at_once_for_one_waiting_request_assign_it_once(local: LocalRuntime, trial: int) -> None:
    # Given one request waiting for an engineer and eight new engineers
    psa = SandboxPsa(local.sandbox())
    request = f"RR-RACE-{trial}"
    local.sandbox().put(
        "psa",
        "resource_request",
        request,
        {
            "id": request,
            "project_id": "P-RACE",
            "role": "engineer",
            "hours": "320",
            "start": "2027-01-18",
            "end": "2027-04-30",
            "status": "open",
        },
    )
    # When all eight are assigned to it at once
    won = at_once(
        [
            lambda n=n: psa.assign_resource_request(request, resource_id=f"RES-{n}", worker_id=f"W-{n}")
            for n in range(8)
        ]
    )
    # Then exactly one holds it, the one the PSA says
    assert won.count(True) == 1
    stored = local.sandbox().get("psa", "resource_request", request)
    assert stored is not None and stored["assigned_resource_id"] == f"RES-{won.index(True)}"
    assert stored["status"] == "assigned"


@pytest.mark.parametrize("trial", range(3))
def test_eight_tries_of_one_mail_at_once_claim_it_once_and_a_failed_send_gives_it_back(
    local: LocalRuntime, trial: int
) -> None:
    from backoffice.resource_onboarding.mail_claims import MailClaims
    from infra.catalog import Ref

    # Given the idempotency table and one mail's key
    claims = MailClaims(local.client("dynamodb"), local.resolve(Ref("table_name", "idempotency")))
    key = f"worker#worker_welcome#worker-W-RACE#attempt-{trial}"
    # When eight tries of the step take it at once
    tokens = at_once([lambda: claims.take(key) for _ in range(8)])
    # Then exactly one holds it
    [token] = [t for t in tokens if t is not None]
    # And when its send fails it gives it back (another's token cannot), so that one retry of eight takes it again
    assert not claims.release(key, "someone-else") and claims.release(key, token)
    again = at_once([lambda: claims.take(key) for _ in range(8)])
    [second] = [t for t in again if t is not None]
    # And once sent, it is neither given back nor taken again
    assert claims.done(key, second) and not claims.release(key, second)
    assert claims.take(key) is None


@pytest.mark.parametrize("trial", range(3))
def test_eight_records_of_one_hire_at_once_leave_the_latest_as_the_workers_attempt(
    local: LocalRuntime, trial: int
) -> None:
    from backoffice.models.events import WorkerHired
    from backoffice.resource_onboarding.attempts import LatestAttempts, attempt_order
    from infra.catalog import Ref

    # Given eight records of one hire (corrections recorded an hour apart; the first without hired_at)
    latest = LatestAttempts(local.client("dynamodb"), local.resolve(Ref("table_name", "idempotency")))
    worker = f"W-ATTEMPT-{trial}"
    base = {"worker_id": worker, "name": "Nadia Brooks", "employment": "employee", "role": "engineer",
            "cost_rate": "85", "start_date": "2027-01-11"}  # fmt: skip
    orders = [attempt_order(WorkerHired.from_json_dict(base))] + [
        attempt_order(WorkerHired.from_json_dict({**base, "hired_at": f"2026-12-07T{9 + i:02d}:00:00Z"}))
        for i in range(7)
    ]
    # When their check steps claim the worker's latest attempt at once
    answers = at_once([lambda o=o: latest.claim(worker, o, f"exec-{o}") for o in orders])  # type: ignore[misc]
    # Then the newest record holds it, whatever the order they ran in; the newest's claim always succeeded
    assert answers[-1] is None
    item = local.client("dynamodb").get_item(
        TableName=local.resolve(Ref("table_name", "idempotency")), Key={"id": {"S": latest.key(worker)}}
    )["Item"]
    assert item["order"]["S"] == max(orders) == orders[-1]
    # And at set-up only the newest is still the latest: every older one is told it was superseded
    assert latest.confirm(worker, orders[-1], "exec") is None
    assert all("a later record of this hire" in str(latest.confirm(worker, o, "exec")) for o in orders[:-1])
    # And before the welcome, likewise: the newest welcomes, an older one past its set-up mails nobody
    assert latest.still_latest(worker, orders[-1]) is None
    assert all("a later record of this hire" in str(latest.still_latest(worker, o)) for o in orders[:-1])


@pytest.mark.parametrize("trial", range(3))
def test_eight_tries_of_one_hires_welcome_at_once_take_one_request_and_report_it(
    local: LocalRuntime, trial: int
) -> None:
    from backoffice.resource_onboarding.assignment_holds import AssignmentHolds
    from backoffice.resource_onboarding.steps import first_assignment
    from infra.catalog import Ref

    # Given two requests waiting for a role nobody else staffs, and one new hire's welcome step run eight times at once
    # (a retry racing the first try), with the idempotency table's holds and the sandbox PSA
    role = f"role-{trial}"
    psa = SandboxPsa(local.sandbox())
    for n in (1, 2):
        request = f"RR-HOLD-{trial}-{n}"
        local.sandbox().put(
            "psa",
            "resource_request",
            request,
            {"id": request, "project_id": f"P-{n}", "role": role, "hours": "160", "start": f"2027-0{n}-04",
             "end": "2027-06-30", "status": "open"},
        )  # fmt: skip
    holds = AssignmentHolds(local.client("dynamodb"), local.resolve(Ref("table_name", "idempotency")))
    hire = PsaResource(**{**resource(f"W-HOLD-{trial}").__dict__, "role": role})
    # When the eight tries run first_assignment at once
    answers = at_once(
        [lambda: first_assignment(hire, f"RES-W-HOLD-{trial}", psa, case_id=f"worker-W-HOLD-{trial}", holds=holds)
         for _ in range(8)]
    )  # fmt: skip
    # Then the hire holds one request only, and every try reports that one
    held = [
        r["id"]
        for r in local.sandbox().all("psa", "resource_request")
        if r.get("assigned_worker_id") == f"W-HOLD-{trial}"
    ]
    assert len(held) == 1
    assert {assignment.request_id for assignment, _ in answers if assignment} == set(held)
    assert all(assignment is not None for assignment, _ in answers)


def test_an_attempt_overtaken_after_its_set_up_welcomes_nobody(local: LocalRuntime) -> None:
    import json

    from backoffice.resource_onboarding.attempts import LatestAttempts
    from backoffice.resource_onboarding.steps import resource_json
    from infra.catalog import Ref

    # Given a hire whose corrected record (recorded later) was checked after the first record's set-up
    latest = LatestAttempts(local.client("dynamodb"), local.resolve(Ref("table_name", "idempotency")))
    older, newer = "2026-12-07T09:00:00.000000Z|2027-01-11", "2026-12-07T11:15:00.000000Z|2027-01-11"
    assert latest.claim("W-OVERTAKEN", older, "exec-1") is None
    assert latest.claim("W-OVERTAKEN", newer, "exec-2") is None
    local.sandbox().put(
        "psa",
        "resource_request",
        "RR-OVERTAKEN",
        {"id": "RR-OVERTAKEN", "project_id": "P-O", "role": "role-overtaken", "hours": "160", "start": "2027-01-11",
         "end": "2027-06-30", "status": "open"},
    )  # fmt: skip
    hire = PsaResource(
        **{**resource("W-OVERTAKEN").__dict__, "role": "role-overtaken", "email": "w.overtaken@example.com"}
    )

    def welcome(order: str, execution: str) -> dict[str, Any]:
        answer = local.client("lambda").invoke(
            FunctionName=local.resolve(Ref("function_arn", "welcome_new_worker")),
            Payload=json.dumps(
                {
                    "case_id": "worker-W-OVERTAKEN",
                    "execution_arn": f"arn:aws:states:us-east-1:123456789012:execution:x:{execution}",
                    "resource": resource_json(hire),
                    "resource_id": "RES-W-OVERTAKEN",
                    "manager": None,
                    "attempt": {"order": order},
                }
            ).encode(),
        )
        result: dict[str, Any] = json.loads(answer["Payload"].read())
        return result

    # When the older attempt's welcome step runs (under its own role, against the idempotency table)
    stale = welcome(older, "exec-1")
    # Then it assigns nothing and mails nobody, saying why; the newer attempt's welcome assigns and mails
    assert stale["status"] == "superseded" and stale["assignment"] is None and stale["mailed"] == []
    assert "a later record of this hire" in stale["reasons"][0]
    request = local.sandbox().get("psa", "resource_request", "RR-OVERTAKEN")
    assert request is not None and not request.get("assigned_resource_id")
    fresh = welcome(newer, "exec-2")
    assert fresh["status"] == "welcomed" and fresh["assignment"]["request_id"] == "RR-OVERTAKEN"
    assert fresh["mailed"] == ["worker_welcome"]
