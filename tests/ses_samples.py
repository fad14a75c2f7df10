"""SES event records as SES publishes them to SNS, copied from the SES Developer Guide's examples
(https://docs.aws.amazon.com/ses/latest/dg/event-publishing-retrieving-sns-examples.html: "Bounce record",
"Complaint record", "DeliveryDelay record"), with the message tags a product mail carries put into ``mail.tags``
(SES copies a configuration set's mail's tags there) and the addresses changed where a test needs its own.
"""

from __future__ import annotations

import copy
import json
from typing import Any

_MAIL: dict[str, Any] = {
    "timestamp": "2017-08-05T00:40:02.012Z",
    "source": "Sender Name <sender@example.com>",
    "sourceArn": "arn:aws:ses:us-east-1:123456789012:identity/sender@example.com",
    "sendingAccountId": "123456789012",
    "messageId": "EXAMPLE7c191be45-e9aedb9a-02f9-4d12-a87d-dd0099a07f8a-000000",
    "destination": ["recipient@example.com"],
    "headersTruncated": False,
    "headers": [
        {"name": "From", "value": "Sender Name <sender@example.com>"},
        {"name": "To", "value": "recipient@example.com"},
        {"name": "Subject", "value": "Message sent from Amazon SES"},
        {"name": "MIME-Version", "value": "1.0"},
        {
            "name": "Content-Type",
            "value": 'multipart/alternative; boundary="----=_Part_7307378_1629847660.1516840721503"',
        },
    ],
    "commonHeaders": {
        "from": ["Sender Name <sender@example.com>"],
        "to": ["recipient@example.com"],
        "messageId": "EXAMPLE7c191be45-e9aedb9a-02f9-4d12-a87d-dd0099a07f8a-000000",
        "subject": "Message sent from Amazon SES",
    },
    "tags": {
        "ses:configuration-set": ["ConfigSet"],
        "ses:source-ip": ["192.0.2.0"],
        "ses:from-domain": ["example.com"],
        "ses:caller-identity": ["ses_user"],
    },
}

BOUNCE: dict[str, Any] = {
    "eventType": "Bounce",
    "bounce": {
        "bounceType": "Permanent",
        "bounceSubType": "General",
        "bouncedRecipients": [
            {
                "emailAddress": "recipient@example.com",
                "action": "failed",
                "status": "5.1.1",
                "diagnosticCode": "smtp; 550 5.1.1 user unknown",
            }
        ],
        "timestamp": "2017-08-05T00:41:02.669Z",
        "feedbackId": "01000157c44f053b-61b59c11-9236-11e6-8f96-7be8aexample-000000",
        "reportingMTA": "dsn; mta.example.com",
    },
    "mail": _MAIL,
}

COMPLAINT: dict[str, Any] = {
    "eventType": "Complaint",
    "complaint": {
        "complainedRecipients": [{"emailAddress": "recipient@example.com"}],
        "timestamp": "2017-08-05T00:41:02.669Z",
        "feedbackId": "01000157c44f053b-61b59c11-9236-11e6-8f96-7be8aexample-000000",
        "userAgent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/60.0.3112.90 Safari/537.36",
        "complaintFeedbackType": "abuse",
        "arrivalDate": "2017-08-05T00:41:02.669Z",
    },
    "mail": _MAIL,
}

DELIVERY_DELAY: dict[str, Any] = {
    "eventType": "DeliveryDelay",
    "mail": _MAIL,
    "deliveryDelay": {
        "timestamp": "2020-06-16T00:15:40.641Z",
        "delayType": "TransientCommunicationFailure",
        "expirationTime": "2020-06-16T00:25:40.914Z",
        "delayedRecipients": [
            {
                "emailAddress": "recipient@example.com",
                "status": "4.4.1",
                "diagnosticCode": "smtp; 421 4.4.0 Unable to lookup DNS for domain",
            }
        ],
    },
}


def addressed(
    record: dict[str, Any],
    recipient: str,
    *,
    tags: dict[str, str] | None = None,
    bounce_type: str | None = None,
    feedback_id: str | None = None,
) -> dict[str, Any]:
    """The sample about ``recipient``, with a product mail's tags (and another bounce type or feedback id)."""
    event = copy.deepcopy(record)
    event["mail"]["destination"] = [recipient]
    event["mail"]["commonHeaders"]["to"] = [recipient]
    event["mail"]["tags"].update({name: [value] for name, value in (tags or {}).items()})
    body = event.get("bounce") or event.get("complaint") or event.get("deliveryDelay")
    for key in ("bouncedRecipients", "complainedRecipients", "delayedRecipients"):
        for entry in body.get(key, []):
            entry["emailAddress"] = recipient
    if bounce_type is not None:
        event["bounce"]["bounceType"] = bounce_type
        event["bounce"]["bounceSubType"] = "MailboxFull" if bounce_type == "Transient" else "General"
    if feedback_id is not None and "feedbackId" in body:
        body["feedbackId"] = feedback_id
    return event


def sns_delivery(record: dict[str, Any], topic_arn: str, message_id: str = "sns-message-1") -> dict[str, Any]:
    """The event Lambda gets when SNS delivers ``record`` (AWS Lambda Developer Guide, "Using Lambda with SNS")."""
    return {
        "Records": [
            {
                "EventSource": "aws:sns",
                "EventVersion": "1.0",
                "EventSubscriptionArn": f"{topic_arn}:2bcfbf39-05c3-41de-beaa-fcfcc21c8f55",
                "Sns": {
                    "Type": "Notification",
                    "MessageId": message_id,
                    "TopicArn": topic_arn,
                    "Subject": None,
                    "Message": json.dumps(record),
                    "Timestamp": "2017-08-05T00:41:03.000Z",
                    "SignatureVersion": "1",
                    "Signature": "EXAMPLE",
                    "SigningCertUrl": "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-EXAMPLE.pem",
                    "UnsubscribeUrl": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe",
                    "MessageAttributes": {},
                },
            }
        ]
    }
