"""Which IAM authorizations an API call needs (the Service Authorization Reference's action and resource of each
operation), as the local runtime asks them."""

from __future__ import annotations

from backoffice.local.iam import CallContext, request_authorizations
from backoffice.local.iam_policy import Decision, Request, evaluate

CONTEXT = CallContext("us-east-1", "123456789012", token_owner={"tok": "arn:sm"}.get)
TABLE = "arn:aws:dynamodb:us-east-1:123456789012:table/"


def asks(service: str, operation: str, **params: object) -> list[tuple[str, str]]:
    return [(r.action, r.resource) for r in request_authorizations(service, operation, params, CONTEXT)]


def test_s3_reads_lists_and_copies_ask_for_the_actions_s3_checks() -> None:
    # Given S3 calls a handler makes
    # Then each asks for S3's own action on the object or the bucket
    assert asks("s3", "GetObject", Bucket="b", Key="k/1") == [("s3:GetObject", "arn:aws:s3:::b/k/1")]
    assert asks("s3", "GetObject", Bucket="b", Key="k", VersionId="v") == [
        ("s3:GetObjectVersion", "arn:aws:s3:::b/k")
    ]
    assert asks("s3", "HeadObject", Bucket="b", Key="k") == [("s3:GetObject", "arn:aws:s3:::b/k")]
    assert asks("s3", "ListObjectsV2", Bucket="b", Prefix="x/") == [("s3:ListBucket", "arn:aws:s3:::b")]
    assert asks("s3", "CopyObject", Bucket="b", Key="new", CopySource={"Bucket": "a", "Key": "old"}) == [
        ("s3:GetObject", "arn:aws:s3:::a/old"),
        ("s3:PutObject", "arn:aws:s3:::b/new"),
    ]


def test_dynamodb_batches_and_transactions_ask_per_table_and_per_item() -> None:
    # Given batch and transaction calls over two tables
    batch = asks("dynamodb", "BatchGetItem", RequestItems={"t1": {}, "t2": {}})
    transaction = asks(
        "dynamodb",
        "TransactWriteItems",
        TransactItems=[{"Put": {"TableName": "t1"}}, {"ConditionCheck": {"TableName": "t2"}}],
    )
    # Then BatchGetItem is its own action on each table, and a transaction asks for each item's action
    assert batch == [("dynamodb:BatchGetItem", TABLE + "t1"), ("dynamodb:BatchGetItem", TABLE + "t2")]
    assert transaction == [("dynamodb:PutItem", TABLE + "t1"), ("dynamodb:ConditionCheckItem", TABLE + "t2")]
    # And a query on an index names the index
    assert asks("dynamodb", "Query", TableName="t1", IndexName="by-case") == [
        ("dynamodb:Query", TABLE + "t1/index/by-case")
    ]


def test_messaging_calls_name_their_bus_topic_or_queue() -> None:
    # Given calls to EventBridge, SNS, SQS and Step Functions
    # Then each names the resource IAM checks
    assert asks("events", "PutEvents", Entries=[{"EventBusName": "backoffice"}, {}]) == [
        ("events:PutEvents", "arn:aws:events:us-east-1:123456789012:event-bus/backoffice"),
        ("events:PutEvents", "arn:aws:events:us-east-1:123456789012:event-bus/default"),
    ]
    assert asks("sns", "Publish", TopicArn="arn:aws:sns:us-east-1:123456789012:t") == [
        ("sns:Publish", "arn:aws:sns:us-east-1:123456789012:t")
    ]
    assert asks("sqs", "SendMessage", QueueUrl="https://sqs.us-east-1.amazonaws.com/123456789012/q") == [
        ("sqs:SendMessage", "arn:aws:sqs:us-east-1:123456789012:q")
    ]
    # A task token is authorized against the state machine that issued it
    assert asks("states", "SendTaskSuccess", taskToken="tok", output="{}") == [
        ("states:SendTaskSuccess", "arn:sm")
    ]
    assert asks("lambda", "Invoke", FunctionName="arn:aws:lambda:us-east-1:1:function:f:$LATEST") == [
        ("lambda:InvokeFunction", "arn:aws:lambda:us-east-1:1:function:f")
    ]


def test_ses_carries_the_sender_as_a_condition_key() -> None:
    # Given an e-mail sent from the approvals address
    (request,) = request_authorizations(
        "ses", "SendRawEmail", {"Source": "Approvals <approvals@example-firm.com>"}, CONTEXT
    )
    # Then the identity is the address and ses:FromAddress is set
    assert request == Request(
        "ses:SendRawEmail",
        "arn:aws:ses:us-east-1:123456789012:identity/approvals@example-firm.com",
        {"ses:FromAddress": "approvals@example-firm.com"},
    )


def test_get_caller_identity_needs_no_permission() -> None:
    assert asks("sts", "GetCallerIdentity") == []


def test_a_send_with_a_configuration_set_is_refused_without_a_grant_on_the_set() -> None:
    # Given a role allowed to send as the approvals address, but only on the identity (no configuration set ARN)
    identity = "arn:aws:ses:us-east-1:123456789012:identity/approvals@example-firm.com"
    configuration_set = "arn:aws:ses:us-east-1:123456789012:configuration-set/backoffice-mail"
    identity_only = [{"Effect": "Allow", "Action": "ses:SendRawEmail", "Resource": [identity]}]
    both = [{"Effect": "Allow", "Action": "ses:SendRawEmail", "Resource": [identity, configuration_set]}]
    # When it sends with the configuration set, as every product mail does
    requests = request_authorizations(
        "ses",
        "SendRawEmail",
        {"Source": "approvals@example-firm.com", "ConfigurationSetName": "backoffice-mail"},
        CONTEXT,
    )
    # Then SES asks for the identity and the configuration set, and only the role granted both may send
    assert [r.resource for r in requests] == [identity, configuration_set]
    assert [evaluate(identity_only, r) for r in requests] == [Decision.ALLOWED, Decision.IMPLICIT_DENY]
    assert [evaluate(both, r) for r in requests] == [Decision.ALLOWED, Decision.ALLOWED]
