"""AWS adapters of the approval step's ports: SES for personal e-mails, SNS for notifications, Step Functions."""

from __future__ import annotations

import json
from collections.abc import Mapping
from email.message import EmailMessage
from typing import Any

from botocore.exceptions import ClientError

from backoffice.approvals.service import TokenNoLongerValid
from backoffice.mail_headers import header_value, sns_subject


class SesMailer:
    """Personal e-mails with per-person links go through SES (SNS e-mail fans one message out to everybody).

    Every header value is made one clean line here (``mail_headers.header_value``): a subject carries names from
    the CRM or a vendor's form, and a line break in one must neither inject a header nor fail the case. The
    callers keep the original on the audit trail.

    Every mail goes out with the stack's configuration set, so SES publishes its bounces and complaints to the
    ``mail_events`` topic (``backoffice.mail_events``), and with the caller's message tags, which SES copies into
    those events so that a bounce finds its approval request. Returns SES's message id."""

    def __init__(self, ses: Any, sender: str, configuration_set: str | None = None) -> None:
        self.ses, self.sender, self.configuration_set = ses, sender, configuration_set

    def send(
        self, *, to: str, subject: str, text: str, html: str, tags: Mapping[str, str] | None = None
    ) -> str | None:
        message = EmailMessage()
        message["From"] = header_value(self.sender)
        message["To"] = header_value(to)
        message["Subject"] = header_value(subject)
        message.set_content(text)
        message.add_alternative(html, subtype="html")
        options: dict[str, Any] = {}
        if self.configuration_set:
            options["ConfigurationSetName"] = self.configuration_set
        if tags:
            options["Tags"] = [{"Name": name, "Value": value} for name, value in tags.items()]
        sent = self.ses.send_raw_email(
            Source=self.sender, Destinations=[to], RawMessage={"Data": message.as_bytes()}, **options
        )
        message_id = sent.get("MessageId") if isinstance(sent, Mapping) else None
        return str(message_id) if message_id else None


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

    def fail(self, task_token: str, error: str, cause: str) -> None:
        try:
            self.sfn.send_task_failure(taskToken=task_token, error=error, cause=cause[:32768])
        except ClientError as failure:
            if failure.response["Error"]["Code"] in ("TaskTimedOut", "InvalidToken", "TaskDoesNotExist"):
                raise TokenNoLongerValid(failure.response["Error"]["Code"]) from None
            raise
