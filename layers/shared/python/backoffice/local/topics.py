"""The catalog's topic subscriptions, delivered locally: a message published to a subscribed topic reaches its
function as SNS delivers it to Lambda.

moto keeps published messages but would deliver to a Lambda subscriber through its own Lambda (Docker), so the
runtime wraps moto's ``SNSBackend.publish``: after moto accepted the message, each catalog function subscribed to
the topic is invoked asynchronously (its own thread, as Lambda's event invocation) with SNS's event shape
(``Records[].Sns``). A failed invocation is retried twice, as Lambda retries an asynchronous event
(``infra/subscriptions.py``), then parked in the parked-events queue with the reason, where AWS would send it to the
undelivered-events queue.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from infra.catalog import Catalog, Ref

Invoke = Callable[[str, Any], tuple[Any, dict[str, Any] | None]]
# Lambda retries an asynchronous invocation twice (RETRY_ATTEMPTS in infra/subscriptions.py).
RETRY_ATTEMPTS = 2


def sns_event(topic_arn: str, message: str, message_id: str, subject: str | None = None) -> dict[str, Any]:
    """The event Lambda receives from an SNS subscription (AWS Lambda Developer Guide, "Using Lambda with SNS")."""
    return {
        "Records": [
            {
                "EventSource": "aws:sns",
                "EventVersion": "1.0",
                "EventSubscriptionArn": f"{topic_arn}:{uuid.uuid4()}",
                "Sns": {
                    "Type": "Notification",
                    "MessageId": message_id,
                    "TopicArn": topic_arn,
                    "Subject": subject,
                    "Message": message,
                    "Timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
                    "SignatureVersion": "1",
                    "Signature": "local",
                    "SigningCertUrl": "https://sns.us-east-1.amazonaws.com/local.pem",
                    "UnsubscribeUrl": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe",
                    "MessageAttributes": {},
                },
            }
        ]
    }


class TopicDelivery:
    """Installed by the local runtime; ``deliveries`` lists the threads it started (tests join them)."""

    def __init__(
        self,
        catalog: Catalog,
        names: Mapping[Ref, str],
        invoke: Invoke,
        park: Callable[[dict[str, Any]], None],
    ) -> None:
        self._subscribers: dict[str, list[str]] = {}
        for spec in catalog.subscriptions:
            self._subscribers.setdefault(names[Ref("topic_arn", spec.topic)], []).append(spec.function)
        self._invoke = invoke
        self._park = park
        self._saved: Any = None
        self._lock = threading.Lock()
        self.deliveries: list[threading.Thread] = []

    def install(self) -> None:
        from moto.sns.models import SNSBackend

        if self._saved is not None:
            return
        original = SNSBackend.publish
        self._saved = original
        delivery = self

        def publish(backend: Any, message: str, arn: str | None, *args: Any, **kwargs: Any) -> str:
            message_id: str = original(backend, message, arn, *args, **kwargs)
            if arn in delivery._subscribers:
                delivery.deliver(str(arn), message, message_id, kwargs.get("subject"))
            return message_id

        SNSBackend.publish = publish  # type: ignore[method-assign, assignment]

    def uninstall(self) -> None:
        from moto.sns.models import SNSBackend

        if self._saved is not None:
            SNSBackend.publish = self._saved  # type: ignore[method-assign]
            self._saved = None

    def deliver(self, topic_arn: str, message: str, message_id: str, subject: str | None = None) -> None:
        event = sns_event(topic_arn, message, message_id, subject)
        for function in self._subscribers.get(topic_arn, []):
            thread = threading.Thread(
                target=self._invoke_with_retries, args=(function, event), name=f"sns-{function}", daemon=True
            )
            with self._lock:
                self.deliveries.append(thread)
            thread.start()

    def wait(self, timeout: float = 30) -> None:
        """Until every delivery started so far has ended (retries included)."""
        with self._lock:
            threads = list(self.deliveries)
        for thread in threads:
            thread.join(timeout)

    def _invoke_with_retries(self, function: str, event: dict[str, Any]) -> None:
        error: dict[str, Any] | None = None
        for _ in range(1 + RETRY_ATTEMPTS):
            _, error = self._invoke(function, event)
            if error is None:
                return
        self._park(
            {
                "reason": f"{function} failed on an SNS message after {RETRY_ATTEMPTS} retries",
                "error": error,
                "event": json.loads(json.dumps(event)),
            }
        )
