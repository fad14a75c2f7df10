"""SES's sending behaviour that moto lacks: configuration sets on a send, and the mailbox simulator's events.

What AWS does, and the local runtime now does too (moto 5 ignores both):

- A send naming a configuration set that does not exist is refused (``ConfigurationSetDoesNotExist``), and message
  tags outside SES's alphabet are refused (``InvalidParameterValue``: letters, digits, ``_``, ``-``; 256 at most).
- A mail sent with a configuration set to SES's mailbox simulator produces the simulator's event on the set's
  event destination (SES Developer Guide, "Using the mailbox simulator"): ``bounce@simulator.amazonses.com`` a
  permanent General bounce (5.1.1, user unknown), ``complaint@`` a complaint (feedback type ``abuse``),
  ``suppressionlist@`` a permanent OnAccountSuppressionList bounce; a ``+label`` before the ``@`` keeps the
  behaviour. The record has SES's event-publishing format, with the mail's tags, and is published to the
  destination's SNS topic a moment after the send returns (as SES does, asynchronously), so the topic's real
  subscription (``handle_mail_event``) receives it.

``success@``, ``ooto@`` and other addresses produce no bounce or complaint (SES would publish Delivery events,
which the product's configuration set does not subscribe to).
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parseaddr
from typing import Any

SIMULATOR_DOMAIN = "simulator.amazonses.com"
# How long after the send the event is published: SES reports a simulator bounce within seconds.
EVENT_DELAY_SECONDS = 0.2
_TAG = re.compile(r"^[A-Za-z0-9_-]{1,256}$")


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def simulator_behaviour(address: str) -> str | None:
    """``bounce``, ``complaint`` or ``suppressionlist`` for a simulator address that produces one, else None."""
    local, _, domain = address.strip().lower().rpartition("@")
    if domain != SIMULATOR_DOMAIN:
        return None
    behaviour = local.split("+", 1)[0]
    return behaviour if behaviour in ("bounce", "complaint", "suppressionlist") else None


def simulator_event(
    behaviour: str,
    recipient: str,
    *,
    source: str,
    message_id: str,
    tags: Mapping[str, str],
    configuration_set: str,
    account: str,
    region: str,
) -> dict[str, Any]:
    """The record SES publishes for a mailbox simulator address (event publishing format)."""
    now = _now()
    feedback_id = f"{message_id}-feedback-{behaviour}"
    mail = {
        "timestamp": now,
        "source": source,
        "sourceArn": f"arn:aws:ses:{region}:{account}:identity/{parseaddr(source)[1]}",
        "sendingAccountId": account,
        "messageId": message_id,
        "destination": [recipient],
        "headersTruncated": False,
        "tags": {
            "ses:configuration-set": [configuration_set],
            "ses:from-domain": [parseaddr(source)[1].rsplit("@", 1)[-1]],
            "ses:caller-identity": ["local"],
            **{name: [value] for name, value in tags.items()},
        },
    }
    if behaviour == "complaint":
        return {
            "eventType": "Complaint",
            "complaint": {
                "complainedRecipients": [{"emailAddress": recipient}],
                "timestamp": now,
                "feedbackId": feedback_id,
                "userAgent": "Amazon SES Mailbox Simulator",
                "complaintFeedbackType": "abuse",
                "arrivalDate": now,
            },
            "mail": mail,
        }
    suppressed = behaviour == "suppressionlist"
    return {
        "eventType": "Bounce",
        "bounce": {
            "bounceType": "Permanent",
            "bounceSubType": "OnAccountSuppressionList" if suppressed else "General",
            "bouncedRecipients": [
                {
                    "emailAddress": recipient,
                    "action": "failed",
                    "status": "5.1.1",
                    "diagnosticCode": "Amazon SES did not send the message to this address because it is on the "
                    "suppression list for your account."
                    if suppressed
                    else "smtp; 550 5.1.1 user unknown",
                }
            ],
            "timestamp": now,
            "feedbackId": feedback_id,
            "reportingMTA": "dns; amazonses.com",
        },
        "mail": mail,
    }


_EVENT_TYPES = {"bounce": "bounce", "suppressionlist": "bounce", "complaint": "complaint"}


class MailboxSimulator:
    """Installed by the local runtime around moto's SendRawEmail; ``pending`` lists the publishing threads."""

    def __init__(self, delay_seconds: float = EVENT_DELAY_SECONDS) -> None:
        self.delay_seconds = delay_seconds
        self._saved: Any = None
        self._lock = threading.Lock()
        self.pending: list[threading.Thread] = []

    def install(self) -> None:
        from moto.ses.exceptions import ConfigurationSetDoesNotExist, InvalidParameterValue
        from moto.ses.responses import EmailResponse

        if self._saved is not None:
            return
        original = EmailResponse.send_raw_email
        self._saved = original
        simulator = self

        def send_raw_email(response: Any) -> Any:
            name = response._get_param("ConfigurationSetName")
            tags = {str(t.get("Name")): str(t.get("Value")) for t in response._get_param("Tags") or []}
            wrong = [f"{k}={v}" for k, v in tags.items() if not (_TAG.match(k) and _TAG.match(v))]
            if wrong:
                raise InvalidParameterValue(f"Invalid tag name or value: {', '.join(wrong)}")
            backend = response.backend
            if name and name not in backend.config_sets:
                raise ConfigurationSetDoesNotExist(f"Configuration set <{name}> does not exist.")
            result = original(response)
            if name:
                sent: Any = getattr(result, "result", None) or {}
                simulator.after_send(
                    backend,
                    name,
                    source=str(response._get_param("Source") or ""),
                    destinations=[str(d) for d in response._get_param("Destinations") or []],
                    message_id=str(sent.get("MessageId", "")),
                    tags=tags,
                )
            return result

        EmailResponse.send_raw_email = send_raw_email  # type: ignore[method-assign, assignment]

    def uninstall(self) -> None:
        from moto.ses.responses import EmailResponse

        if self._saved is not None:
            EmailResponse.send_raw_email = self._saved  # type: ignore[method-assign]
            self._saved = None

    def after_send(
        self,
        backend: Any,
        configuration_set: str,
        *,
        source: str,
        destinations: list[str],
        message_id: str,
        tags: Mapping[str, str],
    ) -> None:
        destination = backend.config_set_event_destination.get(configuration_set)
        if not destination or not destination.get("Enabled", True):
            return
        topic = (destination.get("SNSDestination") or {}).get("TopicARN")
        matching = {str(t).lower() for t in destination.get("MatchingEventTypes") or []}
        if not topic:
            return
        for recipient in destinations:
            address = parseaddr(recipient)[1] or recipient
            behaviour = simulator_behaviour(address)
            if behaviour is None or _EVENT_TYPES[behaviour] not in matching:
                continue
            record = simulator_event(
                behaviour,
                address,
                source=source,
                message_id=message_id,
                tags=tags,
                configuration_set=configuration_set,
                account=backend.account_id,
                region=backend.region_name,
            )
            self._publish_later(backend.account_id, backend.region_name, topic, json.dumps(record))

    def _publish_later(self, account: str, region: str, topic: str, message: str) -> None:
        from moto.sns.models import sns_backends

        def publish() -> None:
            sns_backends[account][region].publish(message, arn=topic)

        timer = threading.Timer(self.delay_seconds, publish)
        timer.daemon = True
        with self._lock:
            self.pending.append(timer)
        timer.start()

    def wait(self, timeout: float = 30) -> None:
        with self._lock:
            pending = list(self.pending)
        for thread in pending:
            thread.join(timeout)
