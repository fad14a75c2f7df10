"""Approval decisions made at the same moment, as real parallel HTTP requests against the local gateway.

Each race releases its requests together from a barrier, on threads, through the gateway to the real handler; the
local runtime makes moto's conditional writes atomic as DynamoDB's are (local/runtime.py). Counts are exact: a lost
vote, a second completion or a second decision of one link fails the test (docs/concurrency.md).
"""

from __future__ import annotations

import threading
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backoffice.approvals.store import RequestRecord
from tests.integration.conftest import Firm, approval_policy, csrf_of, heading, http
from tests.integration.test_approval_links import LENA, OMAR, legal_level, waiting_case

TRIALS = 20


def at_once(*calls: Callable[[], tuple[int, str]]) -> list[tuple[int, str]]:
    """Run the calls on their own threads, released together; their answers in the order given."""
    barrier = threading.Barrier(len(calls))
    answers: list[tuple[int, str] | None] = [None] * len(calls)

    def run(index: int, call: Callable[[], tuple[int, str]]) -> None:
        barrier.wait()
        answers[index] = call()

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert all(answer is not None for answer in answers), "a request did not come back"
    return [answer for answer in answers if answer is not None]


def decision(
    url: str, approver: str, choice: str = "approve", comment: str = ""
) -> Callable[[], tuple[int, str]]:
    csrf = csrf_of(http(url)[1])  # the approver opened the page first, as from the e-mail
    form = {"csrf": csrf, "decision": choice, "approver": approver, "comment": comment}
    return lambda: http(url, form)


def request_of(firm: Firm, case_id: str) -> RequestRecord:
    [requested] = [r for r in firm.records(case_id) if r.action == "approval.requested"]
    request = firm.approvals.get_request(requested.data["request_id"])
    assert request is not None
    return request


def decided(firm: Firm, case_id: str) -> list[str]:
    return [r.outcome for r in firm.records(case_id) if r.action == "approval.decided"]


def refused(firm: Firm, case_id: str) -> list[str]:
    return [r.outcome for r in firm.records(case_id) if r.action == "approval.refused"]


def test_two_approvers_of_a_two_approver_level_approving_at_once_both_count_every_time(
    firm: Firm, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given legal review needs both lawyers (two approvers, as the vendor flow's high-risk level)
    monkeypatch.setenv(
        "APPROVAL_POLICY", approval_policy(contract_review=legal_level(quorum=2, reject_quorum=2))
    )
    pages: Counter[str] = Counter()
    for trial in range(TRIALS):
        case_id = waiting_case(firm, 200 + trial)
        # When both approve at the same moment
        answers = at_once(decision(firm.link(LENA, case_id), LENA), decision(firm.link(OMAR, case_id), OMAR))
        # Then both were told their approval counts; exactly one of them completed the level
        assert [(status, heading(page)) for status, page in answers] == [
            (200, "You approved the request")
        ] * 2
        pages.update("recorded" if "1 of 2 approvals so far" in page else "decided" for _, page in answers)
        request = request_of(firm, case_id)
        assert (request.status, request.approvals, sorted(request.decided_by)) == (
            "APPROVED",
            2,
            [LENA, OMAR],
        )
        assert decided(firm, case_id) == ["approved", "approved"]
        assert refused(firm, case_id) == []
        assert firm.settle(case_id).status == "SUCCEEDED"
    # 20 of 20: two votes counted and one completion (SendTaskSuccess) in every trial
    assert pages == {"recorded": TRIALS, "decided": TRIALS}


def test_one_link_posted_many_times_at_once_decides_once(firm: Firm) -> None:
    # Given a case waiting for legal (one approval decides) and Lena's confirmation page
    case_id = waiting_case(firm, 240)
    post = decision(firm.link(LENA, case_id), LENA)
    # When the same form is posted eight times at once (a double-click, a retrying client)
    answers = at_once(*[post] * 8)
    # Then exactly one decided; the seven others got the already-decided page, each refusal audited
    assert sorted(status for status, _ in answers) == [200] + [409] * 7
    assert Counter(heading(page) for _, page in answers) == {
        "You approved the request": 1,
        "Already decided": 7,
    }
    assert decided(firm, case_id) == ["approved"]
    assert len(refused(firm, case_id)) == 7
    assert set(refused(firm, case_id)) <= {"replayed", "already_decided"}
    request = request_of(firm, case_id)
    assert (request.status, request.approvals, request.decided_by) == ("APPROVED", 1, [LENA])
    assert firm.settle(case_id).status == "SUCCEEDED"


def test_an_approve_and_a_reject_at_once_give_one_outcome(firm: Firm) -> None:
    outcomes: Counter[str] = Counter()
    for trial in range(5):
        # Given a case waiting for legal, where either lawyer's decision decides
        case_id = waiting_case(firm, 250 + trial)
        # When Lena approves and Omar rejects at the same moment
        answers = at_once(
            decision(firm.link(LENA, case_id), LENA),
            decision(firm.link(OMAR, case_id), OMAR, "reject", comment="Not these terms."),
        )
        # Then one decided and the other was refused with the page naming the decision that stands
        request = request_of(firm, case_id)
        assert request.status in ("APPROVED", "REJECTED") and request.approvals + request.rejections == 1
        winner, loser = (0, 1) if request.status == "APPROVED" else (1, 0)
        assert answers[winner][0] == 200 and heading(answers[winner][1]).startswith("You ")
        assert answers[loser][0] == 409
        assert f"already {request.status.lower()} by {request.decided_by[0]}" in answers[loser][1]
        assert decided(firm, case_id) == [request.status.lower()]
        assert refused(firm, case_id) == ["already_decided"]
        outcomes[request.status] += 1
        assert firm.settle(case_id).status == "SUCCEEDED"
    assert sum(outcomes.values()) == 5


def test_a_text_plain_post_is_refused_with_a_page_and_an_audit_record(firm: Firm) -> None:
    # Given a case waiting for legal and Lena's confirmation page
    case_id = waiting_case(firm, 260)
    url = firm.link(LENA, case_id)
    csrf = csrf_of(http(url)[1])
    body = urllib.parse.urlencode({"csrf": csrf, "decision": "approve", "approver": LENA}).encode()
    # When the decision arrives as text/plain (what a cross-site form can send without a preflight)
    request = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": "text/plain"})
    try:
        urllib.request.urlopen(request, timeout=30)
        raise AssertionError("a text/plain decision was accepted")
    except urllib.error.HTTPError as error:
        status, page = error.code, error.read().decode()
    # Then it is refused with a page, audited, and nothing is decided
    assert (status, heading(page)) == (415, "Please start again")
    assert refused(firm, case_id) == ["not_a_form"]
    assert decided(firm, case_id) == []
    # And the same fields as multipart/form-data (a form with enctype multipart) decide
    boundary = "----decision"
    parts = "".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'
        for k, v in {"csrf": csrf, "decision": "approve", "approver": LENA, "comment": "Gut, λ ok"}.items()
    )
    request = urllib.request.Request(
        url,
        data=(parts + f"--{boundary}--\r\n").encode(),
        method="POST",
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 200
    [record] = [r for r in firm.records(case_id) if r.action == "approval.decided"]
    assert list(record.reasons) == ["Gut, λ ok"]
    assert firm.settle(case_id).status == "SUCCEEDED"


def test_a_flood_of_unknown_links_is_counted_not_recorded_one_by_one(firm: Firm) -> None:
    # Given the decision endpoint
    case_id = waiting_case(firm, 261)
    base = firm.link(LENA, case_id).rsplit("/", 1)[0]
    before = len(firm.records("approval-refusals"))
    # When one address asks for 250 links that were never issued, eight at a time
    forged = [f"{base}/guess{i:04d}{'x' * 24}" for i in range(250)]
    for start in range(0, len(forged), 8):
        answers = at_once(*[(lambda u=u: http(u)) for u in forged[start : start + 8]])
        assert {status for status, _ in answers} == {404}
    # Then the trail holds the window's 1st, 10th and 100th refusal, and the counter all 250
    records = firm.records("approval-refusals")[before:]
    windows = {r.data["window"] for r in records}
    if len(windows) == 1:  # not across the turn of an hour
        assert [r.data["count"] for r in records] == [1, 10, 100]
        window = f"refusals#unknown#{windows.pop()}#127.0.0.1"
        assert firm.approvals.refusal_count(window) == 250
        # And the counter expires (TTL) 30 days after its window opened, set once by the first refusal
        counter = firm.approvals.get_item(window)
        assert counter is not None
        opened = datetime.fromisoformat(counter["first_at"]["S"])
        assert int(counter["expires_at"]["N"]) == int((opened + timedelta(days=30)).timestamp())
    # And the audit chain still verifies
    assert firm.audit.verify(["approval-refusals"]).problems == ()


# ------------------------------------------------------------------------------------------------------------
# Any level shape: the approval service on moto's DynamoDB, every approver deciding at once (Hypothesis)
# ------------------------------------------------------------------------------------------------------------


class _Recorded:
    """The mailer, notifier, audit trail and Step Functions callback of the service, as thread-safe recorders."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.links: dict[str, str] = {}
        self.completions: list[dict[str, object]] = []
        self.audited: list[dict[str, object]] = []

    def send(self, *, to: str, subject: str, text: str, html: str, **_: object) -> None:
        self.links[to] = text.split("/approvals/", 1)[1].split()[0]

    def publish(self, *, subject: str, message: str, kind: str) -> None:
        pass

    def append(self, **record: object) -> None:
        with self.lock:
            self.audited.append(record)

    def succeed(self, task_token: str, output: dict[str, object]) -> None:
        with self.lock:
            self.completions.append(output)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    votes=st.lists(st.booleans(), min_size=2, max_size=5),
    quorum_share=st.floats(min_value=0, max_value=1),
    reject_share=st.floats(min_value=0, max_value=1),
)
def test_any_level_decided_by_everyone_at_once_counts_every_vote_until_it_completes_once(
    votes: list[bool], quorum_share: float, reject_share: float
) -> None:
    from datetime import UTC, date, datetime

    import boto3
    from moto import mock_aws

    from backoffice.approvals.policy import ApprovalPolicy
    from backoffice.approvals.service import Approvals, ClientInfo
    from backoffice.approvals.store import ApprovalStore
    from backoffice.local.runtime import _atomic_conditional_writes
    from backoffice.local.samples import sample_approval_policy

    # Given a level of n approvers, any quorum and reject quorum, and each approver's decision
    n = len(votes)
    quorum, reject_quorum = 1 + int(quorum_share * (n - 1)), 1 + int(reject_share * (n - 1))
    team = [f"approver{i}@example-firm.com" for i in range(n)]
    document = sample_approval_policy()
    document["groups"]["team"] = team
    document["routes"]["contract_review"] = [
        {"name": "team", "levels": [{"name": "team review", "group": "team", "quorum": quorum,
                                     "reject_quorum": reject_quorum, "timeout_seconds": 3600}]}
    ]  # fmt: skip
    _atomic_conditional_writes()
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        dynamodb.create_table(
            TableName="approvals",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        recorded = _Recorded()
        approvals = Approvals(
            store=ApprovalStore("approvals", dynamodb),
            audit=recorded,  # type: ignore[arg-type]
            mailer=recorded,
            notifier=recorded,
            callback=recorded,
            policy=ApprovalPolicy.model_validate(document),
            base_url="https://approvals.example",
            clock=lambda: datetime.combine(date(2026, 12, 6), datetime.min.time(), UTC),
        )
        approvals.request(
            {"case_id": "case-1", "step": "contract review", "route": "contract_review", "workflow": "onboarding",
             "subject": {"title": "Contract"}, "task_token": "token"}
        )  # fmt: skip
        client = ClientInfo(method="POST", ip="127.0.0.1", user_agent="test")
        forms = []
        for who, approve in zip(team, votes, strict=True):
            page = approvals.view(
                recorded.links[who], client=ClientInfo(method="GET", ip=None, user_agent=None)
            )
            forms.append((who, "approve" if approve else "reject", page.csrf))

        # When every approver decides at the same moment
        def decide(who: str, choice: str, csrf: str | None) -> Callable[[], tuple[int, str]]:
            def call() -> tuple[int, str]:
                page = approvals.decide(
                    recorded.links[who],
                    decision=choice,
                    approver=who,
                    csrf=csrf,
                    comment="because",
                    client=client,
                )
                return page.status, page.kind

            return call

        answers = at_once(*[decide(*form) for form in forms])
        request = approvals.store.pending_requests() or [None]
        [requested] = [r for r in recorded.audited if r["action"] == "approval.requested"]
        stored = approvals.store.get_request(str(requested["data"]["request_id"]))  # type: ignore[index]

    # Then every vote until the level was decided counted, the level completed exactly once, and the rest were
    # refused as already decided
    assert request == [None] and stored is not None
    kinds = Counter(kind for _, kind in answers)
    counted = stored.approvals + stored.rejections
    assert len(recorded.completions) == 1 and kinds["decided"] == 1
    assert kinds["decided"] + kinds["recorded"] == counted == len(stored.decided_by)
    assert kinds["already_decided"] == n - counted
    assert len([r for r in recorded.audited if r["action"] == "approval.decided"]) == counted
    assert stored.approvals <= votes.count(True) and stored.rejections <= votes.count(False)
    assert stored.status == ("APPROVED" if stored.approvals >= quorum else "REJECTED")
    assert recorded.completions[0]["outcome"] == stored.status.lower()
