"""Powertools idempotency for the steps that create records in a firm's systems, keyed on business ids.

A Lambda retried by the state machine (or re-invoked by a resumed case within the hour) returns the result it
already produced instead of calling the ERP or PSA again. The connectors' own idempotency keys stay as the second
guard, for retries after the record expires here.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any

import boto3
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent,
)


def idempotent_on(business_key: str, *, expires_after_seconds: int = 3600) -> Callable[[Any], Any]:
    """Decorate a handler so that events with the same ``business_key`` (a JMESPath into the event) run once.

    The idempotency records go through a DynamoDB client of boto3's default session, the one the function's audit
    trail and stores make theirs in (``aws.client``): left to itself, Powertools builds its client in a session of
    its own, and the function's first DynamoDB call then decodes DynamoDB's API model a second time (about 85 ms of
    a cold start on Lambda's Python 3.13; a second client in the same session costs a few ms). A client of its own,
    not the shared one: Powertools adds its user-agent hook to the client it is given."""
    persistence = DynamoDBPersistenceLayer(
        table_name=os.environ["IDEMPOTENCY_TABLE_NAME"], boto3_client=boto3.client("dynamodb")
    )
    config = IdempotencyConfig(
        event_key_jmespath=business_key,
        raise_on_no_idempotency_key=True,
        expires_after_seconds=expires_after_seconds,
    )
    return idempotent(persistence_store=persistence, config=config)


class RecordBeingCreated(Exception):
    """Another invocation holds the claim on creating the same record in a firm's system. The step's Task retries
    this error by name (retrier ``idempotency_in_progress``); by then the record exists and the step finds it."""


CLAIM_LEASE_SECONDS = 60  # twice the functions' 30 s timeout: a claim outlives the invocation that took it


@contextmanager
def creation_claim(dynamodb: Any, key: str, *, lease_seconds: int = CLAIM_LEASE_SECONDS) -> Iterator[None]:
    """Hold ``claim#<key>`` in the idempotency table while looking a record up and creating it if missing.

    Two cases can be about one record under different business keys (two CRM accounts of one new company, won at
    once): each finds no record and each creates one, since Powertools' idempotency keys them apart. The claim
    serializes them: the write succeeds only if no live claim holds the key (``attribute_not_exists(id) OR
    expiration < :now``), so the second raises ``RecordBeingCreated`` and its retry finds the first's record. The
    claim is released by its owner only (``#owner = :token``); one whose invocation died expires after the lease
    (``expiration`` is the table's TTL attribute, so DynamoDB also deletes it)."""
    table = os.environ["IDEMPOTENCY_TABLE_NAME"]
    item_key = {"id": {"S": f"claim#{key}"}}
    token, now = uuid.uuid4().hex, int(time.time())
    try:
        dynamodb.put_item(
            TableName=table,
            Item={**item_key, "owner": {"S": token}, "expiration": {"N": str(now + lease_seconds)}},
            ConditionExpression="attribute_not_exists(id) OR expiration < :now",
            ExpressionAttributeValues={":now": {"N": str(now)}},
        )
    except dynamodb.exceptions.ConditionalCheckFailedException:
        raise RecordBeingCreated(
            f"another case is creating the same record ({key}); retried shortly"
        ) from None
    try:
        yield
    finally:
        with suppress(
            dynamodb.exceptions.ConditionalCheckFailedException
        ):  # the lease ran out, another holds it
            dynamodb.delete_item(
                TableName=table,
                Key=item_key,
                ConditionExpression="#owner = :token",
                ExpressionAttributeNames={"#owner": "owner"},
                ExpressionAttributeValues={":token": {"S": token}},
            )
