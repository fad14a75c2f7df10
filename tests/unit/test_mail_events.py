"""SES's event records, read as the product reads them (backoffice.mail_events): who a mail did not reach, how
final that is, and what it was about."""

from __future__ import annotations

import pytest

from backoffice.local.mail_simulator import simulator_behaviour, simulator_event
from backoffice.mail_events import MailEvent, SnsDelivery, mail_tags, tags_of, troubles
from tests.ses_samples import BOUNCE, COMPLAINT, DELIVERY_DELAY, addressed, sns_delivery

TOPIC = "arn:aws:sns:us-east-1:123456789012:backoffice-mail_events"


def test_a_permanent_bounce_names_the_recipient_the_reason_and_the_request() -> None:
    # Given SES's bounce record of an approval mail, delivered by SNS
    record = addressed(BOUNCE, "Lena@Example-Firm.com", tags={"purpose": "approval", "request": "r1"})
    ((sns_id, event),) = SnsDelivery.model_validate(sns_delivery(record, TOPIC)).mail_events()
    # When the product reads it
    (trouble,) = troubles(event)
    # Then the recipient cannot be mailed, with SES's own words, and the tags name the request
    assert sns_id == "sns-message-1"
    assert (trouble.recipient, trouble.kind, trouble.permanent) == ("lena@example-firm.com", "bounce", True)
    assert (trouble.type, trouble.subtype, trouble.status) == ("Permanent", "General", "5.1.1")
    assert trouble.summary() == (
        "the mail to lena@example-firm.com bounced (Permanent/General): smtp; 550 5.1.1 user unknown"
    )
    assert tags_of(event.mail)["request"] == "r1" and tags_of(event.mail)["purpose"] == "approval"
    assert "task_token" not in str(trouble.audit_fields())


@pytest.mark.parametrize(
    ("record", "kind", "permanent"),
    [
        (addressed(BOUNCE, "a@example.com", bounce_type="Transient"), "bounce", False),
        (addressed(BOUNCE, "a@example.com", bounce_type="Undetermined"), "bounce", False),
        (COMPLAINT, "complaint", True),
        (DELIVERY_DELAY, "delay", False),
    ],
    ids=["transient", "undetermined", "complaint", "delay"],
)
def test_only_permanent_bounces_and_complaints_make_an_address_unreachable(
    record: dict[str, object], kind: str, permanent: bool
) -> None:
    # Given another of SES's records, When read, Then only a permanent bounce or a complaint is final
    (trouble,) = troubles(MailEvent.model_validate(record))
    assert (trouble.kind, trouble.permanent) == (kind, permanent)


def test_fields_ses_adds_later_are_ignored_and_send_events_mean_nothing() -> None:
    # Given a record with a field SES may add one day, and a Send record
    newer = {**BOUNCE, "someNewField": {"x": 1}}
    send = {"eventType": "Send", "mail": BOUNCE["mail"], "send": {}}
    # Then the first reads as before, and the second concerns nobody
    assert len(troubles(MailEvent.model_validate(newer))) == 1
    assert troubles(MailEvent.model_validate(send)) == []


def test_tags_outside_ses_alphabet_are_refused_before_sending() -> None:
    # Given a case id with a space and a slash, Then it cannot be a tag (SES would refuse the send)
    with pytest.raises(ValueError, match="letters, digits"):
        mail_tags("approval", case="vendor-Acme Corp/1")
    assert mail_tags("approval", request="0f" * 16) == {"purpose": "approval", "request": "0f" * 16}


def test_the_local_mailbox_simulator_publishes_what_ses_publishes() -> None:
    # Given the simulator's addresses (SES Developer Guide, "Using the mailbox simulator")
    assert simulator_behaviour("bounce+legal@simulator.amazonses.com") == "bounce"
    assert simulator_behaviour("complaint@simulator.amazonses.com") == "complaint"
    assert simulator_behaviour("success@simulator.amazonses.com") is None
    assert simulator_behaviour("bounce@example.com") is None
    # When it makes the bounce record of a tagged mail
    record = simulator_event(
        "bounce",
        "bounce@simulator.amazonses.com",
        source="approvals@example-firm.com",
        message_id="m1",
        tags={"purpose": "approval", "request": "r1"},
        configuration_set="backoffice-mail",
        account="123456789012",
        region="us-east-1",
    )
    # Then the product reads it as it reads SES's own sample
    event = MailEvent.model_validate(record)
    (trouble,) = troubles(event)
    assert (trouble.permanent, trouble.type, trouble.subtype) == (True, "Permanent", "General")
    assert tags_of(event.mail) == {
        "ses:configuration-set": "backoffice-mail",
        "ses:from-domain": "example-firm.com",
        "ses:caller-identity": "local",
        "purpose": "approval",
        "request": "r1",
    }
