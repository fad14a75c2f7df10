"""Powertools idempotency for the steps that create records in a firm's systems, keyed on business ids.

A Lambda retried by the state machine (or re-invoked by a resumed case within the hour) returns the result it
already produced instead of calling the ERP or PSA again. The connectors' own idempotency keys stay as the second
guard, for retries after the record expires here.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent,
)


def idempotent_on(business_key: str, *, expires_after_seconds: int = 3600) -> Callable[[Any], Any]:
    """Decorate a handler so that events with the same ``business_key`` (a JMESPath into the event) run once."""
    persistence = DynamoDBPersistenceLayer(table_name=os.environ["IDEMPOTENCY_TABLE_NAME"])
    config = IdempotencyConfig(
        event_key_jmespath=business_key,
        raise_on_no_idempotency_key=True,
        expires_after_seconds=expires_after_seconds,
    )
    return idempotent(persistence_store=persistence, config=config)
