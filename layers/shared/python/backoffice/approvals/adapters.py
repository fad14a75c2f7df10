"""AWS adapters of the approval step's ports: SES for personal e-mails, SNS for notifications, Step Functions."""

from __future__ import annotations

import json
from email.message import EmailMessage
from typing import Any

from botocore.exceptions import ClientError

from backoffice.approvals.service import TokenNoLongerValid
from backoffice.mail_headers import header_value, sns_subject


class SesMailer:
    """Personal e-mails with per-person links go through SES (SNS e-mail fans one message out to everybody).

    Every header value is made one clean line here (``mail_headers.header_value``): a subject carries names from
    the CRM or a vendor's form, and a line break in one must neither inject a header nor fail the case. The
    callers keep the original on the audit trail."""

    def __init__(self, ses: Any, sender: str) -> None:
        self.ses, self.sender = ses, sender

    def send(self, *, to: str, subject: str, text: str, html: str) -> None:
        message = EmailMessage()
        message["From"] = header_value(self.sender)
        message["To"] = header_value(to)
        message["Subject"] = header_value(subject)
        message.set_content(text)
        message.add_alternative(html, subtype="html")
        self.ses.send_raw_email(
            Source=self.sender, Destinations=[to], RawMessage={"Data": message.as_bytes()}
        )


class SnsNotifier:
    """Pending, decided and escalated approvals for SMS/chat subscribers and operators. Never carries links."""

    def __init__(self, sns: Any, topic_arn: str) -> None:
        self.sns, self.topic_arn = sns, topic_arn

    def publish(self, *, subject: str, message: str, kind: str) -> None:
        self.sns.publish(
            TopicArn=self.topic_arn,
            Subject=sns_subject(subject),
            Message=message,
            MessageAttributes={"kind": {"DataType": "String", "StringValue": kind}},
        )


class StepFunctionsCallback:
    def __init__(self, sfn: Any) -> None:
        self.sfn = sfn

    def succeed(self, task_token: str, output: dict[str, Any]) -> None:
        try:
            self.sfn.send_task_success(taskToken=task_token, output=json.dumps(output))
        except ClientError as error:
            if error.response["Error"]["Code"] in ("TaskTimedOut", "InvalidToken", "TaskDoesNotExist"):
                raise TokenNoLongerValid(error.response["Error"]["Code"]) from None
            raise
