"""A second runtime in a process restores the first's resources instead of creating them, and nothing else.

Each test starts a runtime, and creating its resources (fifty-odd calls through botocore and moto) was a fifth of
an integration module's CPU. A runtime with the same inputs as an earlier one of the process gets a fresh copy of
the state the earlier one's calls left in moto (local/resource_snapshot.py): the same resources, described alike
by every service, and none of what a test then wrote in the earlier runtime.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from backoffice.local import resource_snapshot
from backoffice.local.runtime import LocalRuntime
from backoffice.operate.deployment import paginate
from infra.catalog import Ref


@pytest.fixture(autouse=True)
def _nothing_kept() -> Iterator[None]:
    logging.getLogger("moto").setLevel(logging.CRITICAL)
    resource_snapshot.forget()  # the first runtime of each test makes its calls
    yield
    resource_snapshot.forget()


def _runtime(**kwargs: Any) -> LocalRuntime:
    return LocalRuntime(retry_time_scale=0.001, api_port=None, **kwargs)


def _without_metadata(response: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in response.items() if key != "ResponseMetadata"}


def _resources(rt: LocalRuntime) -> dict[str, Any]:
    """Every resource of the runtime as its service describes it, with the items and objects they hold."""
    found: dict[str, Any] = {}
    events = rt.client("events")
    found["buses"] = events.list_event_buses()["EventBuses"]
    found["rules"] = events.list_rules(EventBusName=rt.catalog.event_bus)["Rules"]
    dynamodb = rt.client("dynamodb")
    for name in paginate(dynamodb, "list_tables", "TableNames"):
        found[f"table {name}"] = dynamodb.describe_table(TableName=name)["Table"]
        found[f"ttl {name}"] = dynamodb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
        found[f"items {name}"] = list(paginate(dynamodb, "scan", "Items", TableName=name))
    s3 = rt.client("s3")
    for bucket in s3.list_buckets()["Buckets"]:
        name = bucket["Name"]
        found[f"bucket {name}"] = (bucket, _without_metadata(s3.get_bucket_versioning(Bucket=name)))
        versions = s3.list_object_versions(Bucket=name).get("Versions", [])
        found[f"objects {name}"] = [
            (v, s3.get_object(Bucket=name, Key=v["Key"], VersionId=v["VersionId"])["Body"].read())
            for v in versions
        ]
    kms = rt.client("kms")
    found["aliases"] = [
        a for a in kms.list_aliases()["Aliases"] if not a["AliasName"].startswith("alias/aws/")
    ]
    found["keys"] = [kms.describe_key(KeyId=k["KeyId"])["KeyMetadata"] for k in kms.list_keys()["Keys"]]
    ses = rt.client("ses")
    found["identities"] = ses.list_identities()["Identities"]
    found["configuration sets"] = ses.list_configuration_sets()["ConfigurationSets"]
    sns = rt.client("sns")
    found["topics"] = sns.list_topics()["Topics"]
    sqs = rt.client("sqs")
    for url in sqs.list_queues().get("QueueUrls", []):
        found[f"queue {url}"] = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    sfn = rt.client("stepfunctions")
    for machine in sfn.list_state_machines()["stateMachines"]:
        arn = machine["stateMachineArn"]
        found[f"machine {arn}"] = _without_metadata(sfn.describe_state_machine(stateMachineArn=arn))
        found[f"executions {arn}"] = sfn.list_executions(stateMachineArn=arn)["executions"]
    ssm = rt.client("ssm")
    found["parameters"] = [
        _without_metadata(ssm.get_parameter(Name=p["Name"])) for p in ssm.describe_parameters()["Parameters"]
    ]
    secrets = rt.client("secretsmanager")
    found["secrets"] = [
        (s["ARN"], secrets.get_secret_value(SecretId=s["ARN"])["SecretString"])
        for s in secrets.list_secrets()["SecretList"]
    ]
    return found


def _write_everywhere(rt: LocalRuntime) -> None:
    """What a test might leave behind: an item, an object, a message, a parameter, a secret, a topic, a key."""
    rt.client("dynamodb").put_item(
        TableName=rt.resolve(Ref("table_name", "sandbox")),
        Item={"pk": {"S": "erp#customer"}, "sk": {"S": "left-behind"}, "body": {"S": "{}"}},
    )
    bucket = rt.resolve(Ref("bucket_name", "sanctions_lists"))
    rt.client("s3").put_object(Bucket=bucket, Key="left-behind.txt", Body=b"left behind")
    rt.client("sqs").send_message(QueueUrl=rt.resolve(Ref("queue_url", "parked_events")), MessageBody="left")
    ssm = rt.client("ssm")
    name = rt.catalog.settings["firm_config_parameter"]
    ssm.put_parameter(Name=name, Value=json.dumps({"left": "behind"}), Type="String", Overwrite=True)
    rt.client("secretsmanager").put_secret_value(SecretId="backoffice/webhooks/crm", SecretString="left")
    rt.client("sns").create_topic(Name="left-behind")
    rt.client("kms").create_key(Description="left behind")
    rt.client("events").put_rule(
        Name="left-behind", EventBusName=rt.catalog.event_bus, EventPattern=json.dumps({"source": ["left"]})
    )


def test_a_second_runtime_restores_the_resources_the_first_created() -> None:
    # Given a first runtime of the process, which created its resources with its calls
    with _runtime() as first:
        assert not first.resources_restored
        created = _resources(first)

    # When a second runtime with the same inputs starts
    with _runtime() as second:
        # Then it restored them, and every service describes the same resources holding the same items and objects
        assert second.resources_restored
        assert _resources(second) == created


def test_what_a_runtime_wrote_is_not_seen_by_the_next() -> None:
    # Given a first runtime's resources as created, and a test that writes to every service in it
    with _runtime() as first:
        created = _resources(first)
        _write_everywhere(first)
        assert _resources(first) != created

    # When the next runtime starts, and a test writes in it too
    with _runtime() as second:
        # Then it sees the resources as created, none of the first runtime's writes
        assert second.resources_restored
        assert _resources(second) == created
        _write_everywhere(second)

    # And so does the one after it
    with _runtime() as third:
        assert third.resources_restored
        assert _resources(third) == created


def test_a_runtime_with_other_inputs_makes_its_own_calls() -> None:
    # Given a first runtime that seeded the sample firm
    with _runtime() as seeded:
        table = seeded.resolve(Ref("table_name", "sandbox"))
        assert seeded.client("dynamodb").scan(TableName=table)["Count"] > 0

    # When a runtime without the sample firm starts
    with _runtime(seed_sample_firm=False) as unseeded:
        # Then it created its resources itself, and its sandbox table is empty
        assert not unseeded.resources_restored
        assert unseeded.client("dynamodb").scan(TableName=table)["Count"] == 0

    # And a seeded runtime after it restores the seeded state again
    with _runtime() as again:
        assert again.resources_restored
        assert again.client("dynamodb").scan(TableName=table)["Count"] > 0
