"""The local runtime's boto3 sessions share one reader of the service models, and nothing else.

Powertools' idempotency layer makes a new boto3 session for its DynamoDB client when a handler module is imported,
and moto's mock replaces boto3's default session for each runtime: each such session read and decoded the service
models from JSON again (11% of the test suite's CPU). The runtime has every new session reuse one loader of those
read-only models; a session keeps its own credentials, region and event hooks.
"""

from __future__ import annotations

from typing import Any

import boto3


def test_a_session_made_inside_a_handler_reuses_the_models_but_keeps_its_own_settings(runtime: Any) -> None:
    # Given the runtime's default session and two sessions made afterwards, as a handler's Powertools would
    default = boto3.DEFAULT_SESSION
    assert default is not None
    first = boto3.session.Session(region_name="eu-west-1", aws_access_key_id="a", aws_secret_access_key="b")
    second = boto3.session.Session(region_name="us-east-1")

    # When each makes a DynamoDB client
    clients = [s.client("dynamodb") for s in (first, second)]

    # Then all three sessions read the models through one loader
    loaders = {id(s._session.get_component("data_loader")) for s in (default, first, second)}
    assert len(loaders) == 1
    # And each client keeps its session's region and credentials
    assert [c.meta.region_name for c in clients] == ["eu-west-1", "us-east-1"]
    assert first.get_credentials().access_key == "a"
