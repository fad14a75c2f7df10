"""moto patched for pace (local/moto_speedups.py): the same DynamoDB answers, without whole-table work.

Each test runs moto in-process with the patches installed, as the local runtime does, and checks what a caller of
DynamoDB would notice: the items and pages a query returns, all-or-nothing transactions, conditions; and that a
transaction no longer leaves a copy of its table behind. Last, the sandbox PSA's lookup of a project by its
opportunity, which replaced a read of every project.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from backoffice.connectors.sandbox import SandboxStore
from backoffice.local import moto_speedups

TABLE = "speedups"


@pytest.fixture
def dynamodb() -> Iterator[Any]:
    with mock_aws():
        moto_speedups.install()
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(
            TableName=TABLE,
            KeySchema=[
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        yield client


def put(dynamodb: Any, pk: str, sk: str, **attributes: str) -> None:
    item = {"pk": {"S": pk}, "sk": {"S": sk}, **{k: {"S": v} for k, v in attributes.items()}}
    dynamodb.put_item(TableName=TABLE, Item=item)


def item(dynamodb: Any, pk: str, sk: str) -> dict[str, Any] | None:
    found: dict[str, Any] | None = dynamodb.get_item(
        TableName=TABLE, Key={"pk": {"S": pk}, "sk": {"S": sk}}, ConsistentRead=True
    ).get("Item")
    return found


def test_a_query_pages_through_its_partition_in_range_key_order_and_no_other(dynamodb: Any) -> None:
    # Given three partitions, their items written out of order
    for n in (7, 3, 9, 1, 5, 8, 2, 6, 4, 0):
        for pk in ("a", "b", "c"):
            put(dynamodb, pk, f"{n:02d}", v=f"{pk}{n}")
    # When partition b is read 4 items a page, forward and backward, and a range of it
    pages, start = [], None
    while True:
        response = dynamodb.query(
            TableName=TABLE,
            KeyConditionExpression="pk = :p",
            ExpressionAttributeValues={":p": {"S": "b"}},
            Limit=4,
            **({"ExclusiveStartKey": start} if start else {}),
        )
        pages.append([i["sk"]["S"] for i in response["Items"]])
        start = response.get("LastEvaluatedKey")
        if not start:
            break
    backward = dynamodb.query(
        TableName=TABLE,
        KeyConditionExpression="pk = :p",
        ExpressionAttributeValues={":p": {"S": "b"}},
        ScanIndexForward=False,
        Limit=1,
    )["Items"]
    between = dynamodb.query(
        TableName=TABLE,
        KeyConditionExpression="pk = :p AND sk BETWEEN :lo AND :hi",
        FilterExpression="v <> :skip",
        ExpressionAttributeValues={
            ":p": {"S": "b"},
            ":lo": {"S": "03"},
            ":hi": {"S": "06"},
            ":skip": {"S": "b4"},
        },
    )["Items"]
    # Then the pages hold partition b only, in range key order, as DynamoDB pages it
    assert pages == [["00", "01", "02", "03"], ["04", "05", "06", "07"], ["08", "09"]]
    assert [i["v"]["S"] for i in backward] == ["b9"]
    assert [i["v"]["S"] for i in between] == ["b3", "b5", "b6"]
    # And a partition with no item gives none, a scan still reads them all
    assert (
        dynamodb.query(
            TableName=TABLE, KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "z"}}
        )["Items"]
        == []
    )
    assert dynamodb.scan(TableName=TABLE)["Count"] == 30


def test_a_cancelled_transaction_leaves_every_item_as_it_was_and_no_copy_of_the_table(dynamodb: Any) -> None:
    from moto.dynamodb.models.table import Table

    # Given an item, and the number of tables moto keeps track of
    put(dynamodb, "account", "A", balance="10")
    tables_before = len(Table.instances_tracked)  # type: ignore[attr-defined]
    # When a transaction writes a new item, changes the existing one, and then fails a condition
    with pytest.raises(ClientError) as refused:
        dynamodb.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": TABLE, "Item": {"pk": {"S": "account"}, "sk": {"S": "B"}}}},
                {
                    "Update": {
                        "TableName": TABLE,
                        "Key": {"pk": {"S": "account"}, "sk": {"S": "A"}},
                        "UpdateExpression": "SET balance = :b",
                        "ExpressionAttributeValues": {":b": {"S": "0"}},
                    }
                },
                {
                    "ConditionCheck": {
                        "TableName": TABLE,
                        "Key": {"pk": {"S": "account"}, "sk": {"S": "C"}},
                        "ConditionExpression": "attribute_exists(sk)",
                    }
                },
            ]
        )
    # Then DynamoDB's answer: cancelled, with the reason per item
    assert refused.value.response["Error"]["Code"] == "TransactionCanceledException"
    reasons = [r["Code"] for r in refused.value.response["CancellationReasons"]]
    assert reasons == ["None", "None", "ConditionalCheckFailed"]
    # And nothing was written: no new item, the old one unchanged
    assert item(dynamodb, "account", "B") is None
    assert item(dynamodb, "account", "A") == {
        "pk": {"S": "account"},
        "sk": {"S": "A"},
        "balance": {"S": "10"},
    }
    # And no copy of the table stays behind
    assert len(Table.instances_tracked) == tables_before  # type: ignore[attr-defined]


def test_a_transaction_whose_conditions_hold_writes_every_item(dynamodb: Any) -> None:
    # Given no claim yet
    claim = {
        "Put": {
            "TableName": TABLE,
            "Item": {"pk": {"S": "idem"}, "sk": {"S": "key-1"}},
            "ConditionExpression": "attribute_not_exists(sk)",
        }
    }
    record = {"Put": {"TableName": TABLE, "Item": {"pk": {"S": "record"}, "sk": {"S": "R-1"}}}}
    # When a claim and its record are written together, twice
    dynamodb.transact_write_items(TransactItems=[claim, record])
    with pytest.raises(ClientError) as second:
        dynamodb.transact_write_items(
            TransactItems=[
                claim,
                {"Put": {**record["Put"], "Item": {"pk": {"S": "record"}, "sk": {"S": "R-2"}}}},
            ]
        )
    # Then the first wrote both, the second neither
    assert item(dynamodb, "idem", "key-1") and item(dynamodb, "record", "R-1")
    assert second.value.response["Error"]["Code"] == "TransactionCanceledException"
    assert item(dynamodb, "record", "R-2") is None


def test_the_psa_finds_a_project_by_its_opportunity_however_it_was_written(dynamodb: Any) -> None:
    store = SandboxStore(TABLE, dynamodb)
    project = {"id": "P-1", "opportunity_id": "006A", "client_id": "C-1"}
    # Given projects written by a create, a put and a seeding batch, and one without an opportunity
    store.create_once(
        "psa", "project", "project#006A", lambda new_id: {**project, "id": new_id}, "PRJ", "P-1"
    )
    store.put("psa", "project", "P-2", {**project, "id": "P-2", "opportunity_id": "006B"})
    store.put_many([("psa", "project", "P-3", None, {**project, "id": "P-3", "opportunity_id": "006C"})])
    store.put("psa", "project", "P-4", {**project, "id": "P-4", "opportunity_id": None})
    # Then each is found by its opportunity, and an unknown opportunity finds none
    for opportunity, project_id in (("006A", "P-1"), ("006B", "P-2"), ("006C", "P-3")):
        found = store.find_by("psa", "project", "opportunity_id", opportunity)
        assert found is not None and found["id"] == project_id
    assert store.find_by("psa", "project", "opportunity_id", "006Z") is None
    # And a project moved to another opportunity is no longer found by the old one
    store.put("psa", "project", "P-2", {**project, "id": "P-2", "opportunity_id": "006D"})
    assert store.find_by("psa", "project", "opportunity_id", "006B") is None
    assert (store.find_by("psa", "project", "opportunity_id", "006D") or {}).get("id") == "P-2"
    # And the lookups are not records: listing the projects gives the four projects
    assert sorted(p["id"] for p in store.all("psa", "project")) == ["P-1", "P-2", "P-3", "P-4"]


def test_the_erp_lists_a_customers_and_a_projects_invoices_from_its_index(dynamodb: Any) -> None:
    store = SandboxStore(TABLE, dynamodb)
    invoice = {"client_id": "C-1", "project_id": "P-1", "status": "posted"}
    # Given invoices written by a create, a put and a seeding batch, for two clients and projects
    store.create_once("erp", "invoice", "invoice#1", lambda new_id: {**invoice, "id": new_id}, "INV", "I-1")
    store.put("erp", "invoice", "I-2", {**invoice, "id": "I-2", "project_id": "P-2"})
    store.put_many([("erp", "invoice", "I-3", None, {**invoice, "id": "I-3", "client_id": "C-2"})])
    # Then a client's and a project's invoices are listed by their index, in id order
    assert [i["id"] for i in store.find_all_by("erp", "invoice", "client_id", "C-1")] == ["I-1", "I-2"]
    assert [i["id"] for i in store.find_all_by("erp", "invoice", "project_id", "P-1")] == ["I-1", "I-3"]
    assert store.find_all_by("erp", "invoice", "client_id", "C-9") == []
    # And an invoice changed to another client is listed under its new client only
    store.put("erp", "invoice", "I-2", {**invoice, "id": "I-2", "client_id": "C-2", "project_id": "P-2"})
    assert [i["id"] for i in store.find_all_by("erp", "invoice", "client_id", "C-1")] == ["I-1"]
    assert [i["id"] for i in store.find_all_by("erp", "invoice", "client_id", "C-2")] == ["I-2", "I-3"]
    # And the index items are not invoices
    assert sorted(i["id"] for i in store.all("erp", "invoice")) == ["I-1", "I-2", "I-3"]
    with pytest.raises(ValueError, match="not listed by"):
        store.find_all_by("erp", "invoice", "status", "posted")


def test_kms_keys_made_without_their_key_pair_still_sign_verify_and_mac() -> None:
    # Given moto patched to make a KMS key's RSA pair only when it is used
    with mock_aws():
        moto_speedups.install()
        kms = boto3.client("kms", region_name="us-east-1")
        signing = kms.create_key(KeySpec="RSA_2048", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"]
        hmac = kms.create_key(KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC")["KeyMetadata"]["KeyId"]

        # When an asymmetric key signs and an HMAC key makes a MAC
        signature = kms.sign(
            KeyId=signing, Message=b"invoice 42", SigningAlgorithm="RSASSA_PSS_SHA_256", MessageType="RAW"
        )["Signature"]
        mac = kms.generate_mac(KeyId=hmac, Message=b"record 1", MacAlgorithm="HMAC_SHA_256")["Mac"]

        # Then the signature verifies against that key and its public key, and the MAC verifies
        assert kms.verify(
            KeyId=signing,
            Message=b"invoice 42",
            Signature=signature,
            SigningAlgorithm="RSASSA_PSS_SHA_256",
            MessageType="RAW",
        )["SignatureValid"]
        assert kms.get_public_key(KeyId=signing)["PublicKey"]
        assert kms.verify_mac(KeyId=hmac, Message=b"record 1", Mac=mac, MacAlgorithm="HMAC_SHA_256")[
            "MacValid"
        ]


def test_object_versions_under_a_prefix_are_listed_as_s3_lists_them_page_by_page() -> None:
    # Given a versioned bucket with keys under two prefixes, some written three times
    with mock_aws():
        moto_speedups.install()
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="anchors")
        s3.put_bucket_versioning(Bucket="anchors", VersioningConfiguration={"Status": "Enabled"})
        written: dict[str, list[str]] = {}
        for key in ("case/a/1", "case/b/1", "case/a/2", "other/1", "case/a/3", "case/ab/1"):
            for n in range(3 if key.endswith("1") else 1):
                version = s3.put_object(Bucket="anchors", Key=key, Body=f"{key} {n}".encode())["VersionId"]
                written.setdefault(key, []).insert(0, version)  # newest first, as S3 lists them

        # When listing the versions under case/a/ two at a time, resuming after each page
        listed: list[tuple[str, str, bool]] = []
        pages = s3.get_paginator("list_object_versions").paginate(
            Bucket="anchors", Prefix="case/a/", PaginationConfig={"PageSize": 2}
        )
        for page in pages:
            listed += [(v["Key"], v["VersionId"], v["IsLatest"]) for v in page.get("Versions", [])]

        # Then every version of every key under the prefix comes once, by key, newest first, the newest latest
        expected = [
            (key, version, n == 0)
            for key in sorted(k for k in written if k.startswith("case/a/"))
            for n, version in enumerate(written[key])
        ]
        assert listed == expected


# Attribute values of every type DynamoDB has, nested and empty ones included.
VARIED = {
    "s": {"S": "plain"},
    "empty_s": {"S": ""},
    "unicode": {"S": 'Zoë ✓ "quoted" \\ back'},
    "n": {"N": "42"},
    "negative": {"N": "-0.5"},
    "big": {"N": "1.23E+30"},
    "b": {"B": b"\x00\xffbinary"},
    "yes": {"BOOL": True},
    "no": {"BOOL": False},
    "nothing": {"NULL": True},
    "ss": {"SS": ["a", "b", "c"]},
    "ns": {"NS": ["1", "2.5", "-3"]},
    "bs": {"BS": [b"x", b"\x01\x02"]},
    "list": {"L": [{"S": "one"}, {"N": "2"}, {"BOOL": False}, {"NULL": True}, {"L": []}, {"M": {}}]},
    "empty_l": {"L": []},
    "empty_m": {"M": {}},
    "m": {
        "M": {
            "deep": {"M": {"deeper": {"L": [{"M": {"b": {"B": b"z"}, "ss": {"SS": ["q"]}}}]}}},
            "n": {"N": "7"},
        }
    },
}


@pytest.fixture
def answers_compared(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[Any, Any]]]:
    """Every JSON answer made twice, by the direct walk and by moto's own serializer: the pairs to compare."""
    from moto.core.serialize import JSONSerializer

    with mock_aws():
        moto_speedups.install()
        walked = JSONSerializer._serialize_result
        pairs: list[tuple[Any, Any]] = []

        def both(serializer: Any, resp: Any, result: Any) -> Any:
            fresh = {"body": "", "headers": {}, "status_code": resp["status_code"]}
            by_moto = walked.moto_serialize_result(serializer, dict(fresh, headers={}), result)  # type: ignore[attr-defined]
            answer = walked(serializer, resp, result)
            pairs.append((copy.deepcopy(answer), by_moto))  # before moto adds its own headers to it
            return answer

        monkeypatch.setattr(JSONSerializer, "_serialize_result", both)
        yield pairs


def test_dynamodb_answers_walked_directly_are_byte_for_byte_motos(
    answers_compared: list[tuple[Any, Any]],
) -> None:
    # Given a table with a local and a global index, and items holding every attribute type
    dynamodb = boto3.client("dynamodb", region_name="us-east-1")
    attribute = [("pk", "S"), ("sk", "S"), ("g", "S"), ("l", "N")]
    dynamodb.create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": n, "AttributeType": t} for n, t in attribute],
        LocalSecondaryIndexes=[
            {
                "IndexName": "by-l",
                "KeySchema": [
                    {"AttributeName": "pk", "KeyType": "HASH"},
                    {"AttributeName": "l", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "by-g",
                "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            }
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    key = {"pk": {"S": "p"}, "sk": {"S": "0"}}
    for n in range(6):
        item = {"pk": {"S": "p"}, "sk": {"S": str(n)}, "g": {"S": f"g{n % 2}"}, "l": {"N": str(10 - n)}}
        dynamodb.put_item(TableName=TABLE, Item={**item, **VARIED}, ReturnConsumedCapacity="TOTAL")

    # When every read and write answers, with projections, pages, return values and consumed capacity
    dynamodb.describe_table(TableName=TABLE)
    dynamodb.list_tables()
    for capacity in ("NONE", "TOTAL", "INDEXES"):
        dynamodb.get_item(TableName=TABLE, Key=key, ReturnConsumedCapacity=capacity)
        dynamodb.query(
            TableName=TABLE,
            IndexName="by-l",
            KeyConditionExpression="pk = :p",
            ExpressionAttributeValues={":p": {"S": "p"}},
            Limit=4,
            ReturnConsumedCapacity=capacity,
        )
    dynamodb.get_item(TableName=TABLE, Key={"pk": {"S": "p"}, "sk": {"S": "missing"}})
    dynamodb.get_item(
        TableName=TABLE, Key=key, ProjectionExpression="m.deep, l, #n", ExpressionAttributeNames={"#n": "n"}
    )
    dynamodb.query(
        TableName=TABLE,
        KeyConditionExpression="pk = :p",
        ExpressionAttributeValues={":p": {"S": "p"}},
        ExclusiveStartKey={"pk": {"S": "p"}, "sk": {"S": "2"}},
        ScanIndexForward=False,
    )
    dynamodb.query(
        TableName=TABLE,
        IndexName="by-g",
        KeyConditionExpression="g = :g",
        ExpressionAttributeValues={":g": {"S": "g1"}},
    )
    dynamodb.query(
        TableName=TABLE,
        KeyConditionExpression="pk = :p",
        ExpressionAttributeValues={":p": {"S": "p"}},
        Select="COUNT",
    )
    dynamodb.scan(
        TableName=TABLE, Limit=3, FilterExpression="l > :l", ExpressionAttributeValues={":l": {"N": "5"}}
    )
    for returned in ("ALL_NEW", "ALL_OLD", "UPDATED_NEW", "UPDATED_OLD", "NONE"):
        dynamodb.update_item(
            TableName=TABLE,
            Key=key,
            UpdateExpression="SET ns = :ns, extra = :m ADD tally :one",
            ExpressionAttributeValues={":ns": {"NS": ["9", "8"]}, ":m": VARIED["m"], ":one": {"N": "1"}},
            ReturnValues=returned,
            ReturnConsumedCapacity="INDEXES",
        )
    dynamodb.put_item(TableName=TABLE, Item={**key, **VARIED, "g": {"S": "g0"}}, ReturnValues="ALL_OLD")
    dynamodb.batch_get_item(
        RequestItems={
            TABLE: {"Keys": [key, {"pk": {"S": "p"}, "sk": {"S": "3"}}, {"pk": {"S": "x"}, "sk": {"S": "y"}}]}
        }
    )
    dynamodb.batch_write_item(
        RequestItems={
            TABLE: [
                {PutRequest: {"Item": {"pk": {"S": "w"}, "sk": {"S": "1"}}}} for PutRequest in ["PutRequest"]
            ]
        }
    )
    dynamodb.transact_get_items(
        TransactItems=[
            {"Get": {"TableName": TABLE, "Key": key}},
            {"Get": {"TableName": TABLE, "Key": {"pk": {"S": "no"}, "sk": {"S": "no"}}}},
        ]
    )
    dynamodb.transact_write_items(
        TransactItems=[{"Put": {"TableName": TABLE, "Item": {"pk": {"S": "t"}, "sk": {"S": "1"}}}}]
    )
    dynamodb.delete_item(TableName=TABLE, Key={"pk": {"S": "p"}, "sk": {"S": "5"}}, ReturnValues="ALL_OLD")
    refused = []
    for call in (
        lambda: dynamodb.put_item(
            TableName=TABLE,
            Item=key,
            ConditionExpression="attribute_not_exists(pk)",
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        ),
        lambda: dynamodb.transact_write_items(
            TransactItems=[
                {
                    "ConditionCheck": {
                        "TableName": TABLE,
                        "Key": key,
                        "ConditionExpression": "attribute_not_exists(pk)",
                        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                    }
                }
            ]
        ),
        lambda: dynamodb.get_item(TableName="missing", Key=key),
        lambda: dynamodb.query(
            TableName=TABLE, KeyConditionExpression="nope = :p", ExpressionAttributeValues={":p": {"S": "p"}}
        ),
    ):
        with pytest.raises(ClientError) as refusal:
            call()
        refused.append(refusal.value.response)

    # Then every answer is moto's own, byte for byte: body, headers, status (walked directly: the attribute values)
    assert len(answers_compared) > 25
    assert any(shape.name == "AttributeValue" for shape, _ in moto_speedups._plans.values())
    for answer, by_moto in answers_compared:
        assert answer == by_moto
    bodies = "".join(answer["body"] for answer, _ in answers_compared)
    for wire in (
        '"B": "AP9iaW5hcnk="',
        '"BS": ["eA==", "AQI="]',
        '"NULL": true',
        '"BOOL": false',
        '"LastEvaluatedKey"',
        '"CapacityUnits"',
        '"Table": {"CapacityUnits"',
        '"LocalSecondaryIndexes"',
        '"M": {}',
        '"L": []',
        '"S": ""',
    ):
        assert wire in bodies
    # And the refusals still say what they said (moto's errors are not walked directly)
    assert [r["Error"]["Code"] for r in refused] == [
        "ConditionalCheckFailedException",
        "TransactionCanceledException",
        "ResourceNotFoundException",
        "ValidationException",
    ]
    assert refused[0]["Item"] == {**key, **VARIED, "g": {"S": "g0"}}


@pytest.mark.parametrize(
    ("operation", "result"),
    [
        (
            "BatchGetItem",
            {
                "Responses": {TABLE: [{"pk": {"S": "p"}, "b": {"B": b"\x00"}, "bs": {"BS": [b"x"]}}]},
                "UnprocessedKeys": {TABLE: {"Keys": [{"pk": {"S": "q"}}], "ProjectionExpression": "pk, #n"}},
                "ConsumedCapacity": [{"TableName": TABLE, "CapacityUnits": 2}],
            },
        ),
        (
            "GetItem",
            {
                "Item": {
                    "two_types": {"S": "x", "N": "1"},
                    "alias": {"s": "lower-case key"},
                    "shape_name": {"ListAttributeValue": [{"S": "x"}]},
                    "none": {},
                    "null_value": {"S": None},
                    "nones_in_a_list": {"L": [None, {"S": "y"}]},
                    "unknown_type": {"X": "?"},
                    "int_number": {"N": 5},
                    "tuple_set": {"SS": ("a", "b")},
                },
                "ConsumedCapacity": {
                    "TableName": TABLE,
                    "CapacityUnits": 0.5,
                    "Table": {"CapacityUnits": 0.5},
                },
            },
        ),
        ("Query", {"Count": 0, "ScannedCount": 3, "Items": [], "LastEvaluatedKey": {"pk": {"S": "p"}}}),
        ("PutItem", {}),
    ],
)
def test_unusual_results_walked_directly_are_serialized_as_moto_serializes_them(
    operation: str, result: Any
) -> None:
    # Given moto's serializer for a DynamoDB operation, as moto's ActionResult makes it
    from moto.core.serialize import JSONSerializer, XFormedAttributePicker
    from moto.core.utils import get_service_model

    moto_speedups.install()
    # No transformers: moto fills BaseResponse's process-wide table after some EC2 and ECS calls, and with any in it
    # the direct walk steps aside, which would compare moto with itself.
    picker = XFormedAttributePicker(response_transformers={})
    serializer = JSONSerializer(get_service_model("dynamodb").operation_model(operation), value_picker=picker)
    moto_speedups._plans.clear()  # to see below that the direct walk made its plans

    # When a result with keys under aliases, several types, Nones, and sets as tuples is serialized both ways
    walked = serializer.serialize(copy.deepcopy(result))
    by_moto = JSONSerializer._serialize_result.moto_serialize_result(  # type: ignore[attr-defined]
        serializer, {"body": "", "headers": {}, "status_code": 200}, copy.deepcopy(result)
    )

    # Then the two answers are the same, the first by the direct walk
    assert walked == by_moto
    assert moto_speedups._plans


def test_step_functions_answers_walked_directly_are_motos_too(
    answers_compared: list[tuple[Any, Any]],
) -> None:
    # Given a state machine, its executions (timestamps, nested structures, lists)
    sfn = boto3.client("stepfunctions", region_name="us-east-1")
    definition = '{"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": true}}}'
    arn = sfn.create_state_machine(
        name="speedups",
        definition=definition,
        roleArn="arn:aws:iam::123456789012:role/speedups",
        tags=[{"key": "a", "value": "b"}],
    )["stateMachineArn"]

    # When it is described, run, and its executions listed and described
    sfn.describe_state_machine(stateMachineArn=arn)
    execution = sfn.start_execution(stateMachineArn=arn, name="one", input='{"x": 1}')["executionArn"]
    sfn.describe_execution(executionArn=execution)
    sfn.list_executions(stateMachineArn=arn)
    sfn.list_state_machines()
    sfn.list_tags_for_resource(resourceArn=arn)

    # Then each answer is moto's own
    assert len(answers_compared) >= 6
    for answer, by_moto in answers_compared:
        assert answer == by_moto


def test_an_action_added_to_a_response_class_after_its_first_call_is_dispatched() -> None:
    # Given moto patched to list a response class's methods once, and a call that listed DynamoDB's
    from moto.dynamodb.responses import DynamoHandler

    with mock_aws():
        moto_speedups.install()
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        assert dynamodb.list_tables()["TableNames"] == []

        # When the handler's ListTables is replaced, then removed again
        def list_tables(handler: Any) -> str:
            return '{"TableNames": ["patched"]}'

        original = DynamoHandler.list_tables
        DynamoHandler.list_tables = list_tables  # type: ignore[method-assign, assignment]
        try:
            patched = dynamodb.list_tables()["TableNames"]
        finally:
            DynamoHandler.list_tables = original  # type: ignore[method-assign]

        # Then the replacement answers, then the original again
        assert patched == ["patched"]
        assert dynamodb.list_tables()["TableNames"] == []


# -- the per-call path: signing, S3's URL table, request ids ------------------------------------------------------

ZEROS = "0" * 64


def _calls(bucket: str) -> list[tuple[str, Any]]:
    """A few calls of each kind the runtime makes, and refusals, each as (what, answer without its metadata)."""
    import io

    dynamodb = boto3.client("dynamodb", region_name="us-east-1")
    s3 = boto3.client("s3", region_name="us-east-1")
    kms = boto3.client("kms", region_name="us-east-1")
    answers: list[tuple[str, Any]] = []

    def call(what: str, make: Any) -> None:
        try:
            answer = make()
            answer.pop("ResponseMetadata", None)
            answer.pop("LastModified", None)  # the second it was written
            if "Body" in answer:
                answer["Body"] = answer["Body"].read()
            answers.append((what, answer))
        except ClientError as error:
            answers.append(
                (what, (error.response["Error"], error.response["ResponseMetadata"]["HTTPStatusCode"]))
            )

    call("missing table", lambda: dynamodb.get_item(TableName="missing", Key={"pk": {"S": "a"}}))
    call("put", lambda: dynamodb.put_item(TableName=TABLE, Item={"pk": {"S": "a"}, "sk": {"S": "1"}}))
    call("get", lambda: dynamodb.get_item(TableName=TABLE, Key={"pk": {"S": "a"}, "sk": {"S": "1"}}))
    call("bucket", lambda: s3.create_bucket(Bucket=bucket))
    call("put object", lambda: s3.put_object(Bucket=bucket, Key="k/a b.txt", Body=b"x" * 3000))
    call("streamed object", lambda: s3.put_object(Bucket=bucket, Key="k/s", Body=io.BytesIO(b"y" * 70_000)))
    call("get object", lambda: s3.get_object(Bucket=bucket, Key="k/a b.txt"))
    call("get streamed", lambda: s3.get_object(Bucket=bucket, Key="k/s"))
    call("missing key", lambda: s3.get_object(Bucket=bucket, Key="k/none"))
    call("missing bucket", lambda: s3.head_bucket(Bucket=bucket + "-none"))
    uploaded = io.BytesIO(b"z" * 9000)
    s3.upload_fileobj(uploaded, bucket, "k/uploaded")
    call("get uploaded", lambda: s3.get_object(Bucket=bucket, Key="k/uploaded"))
    key = kms.create_key(KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC")["KeyMetadata"]["KeyId"]
    call("key", lambda: kms.describe_key(KeyId=key)["KeyMetadata"]["KeySpec"] and {"ok": True})
    call("missing key id", lambda: kms.describe_key(KeyId="00000000-0000-0000-0000-000000000000"))
    return answers


def test_calls_moto_answers_in_process_carry_their_credential_but_no_signature(
    dynamodb: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the calls a handler makes, watched as they are sent
    from botocore import auth
    from botocore.signers import RequestSigner

    sent: list[str] = []

    def watch(request: Any, **kwargs: Any) -> None:
        dated = bool(request.headers.get("X-Amz-Date"))
        sent.append(str(request.headers.get("Authorization", b""), "utf-8") + f" (dated: {dated})")

    session = boto3.Session()
    session.events.register_first("before-send", watch)
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", session)

    # When they are made signed cheaply, then again as botocore signs them
    cheap = _calls("signed-cheaply")
    cheap_sent = list(sent)
    sent.clear()
    monkeypatch.setattr(RequestSigner, "sign", RequestSigner.sign.original)
    monkeypatch.setattr(auth.SigV4Auth, "add_auth", auth.SigV4Auth.add_auth.original)
    signed = _calls("signed")

    # Then each cheap call carried the access key, date, region and service, and no HMAC; the others a real one
    assert cheap_sent and all(header.endswith(f", Signature={ZEROS} (dated: True)") for header in cheap_sent)
    assert any("/us-east-1/s3/aws4_request, SignedHeaders=" in header for header in cheap_sent)
    assert all(header.startswith("AWS4-HMAC-SHA256 Credential=FOOBARKEY/") for header in cheap_sent)
    assert sent and not any(ZEROS in header for header in sent)
    # And the answers and refusals are the same (the bucket's name aside)
    assert [(what, repr(a).replace("signed-cheaply", "signed")) for what, a in cheap] == [
        (what, repr(a)) for what, a in signed
    ]


def _verify_presigned(url: str, secret: str) -> bool:
    """An S3 presigned GET's X-Amz-Signature recomputed from its URL, as S3 checks it (SigV4, query auth)."""
    import hashlib
    import hmac
    from urllib.parse import parse_qsl, quote, urlsplit

    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    signature = query.pop("X-Amz-Signature")
    canonical_query = "&".join(
        f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}" for k, v in sorted(query.items())
    )
    canonical = "\n".join(
        ["GET", parts.path, canonical_query, f"host:{parts.netloc}\n", "host", "UNSIGNED-PAYLOAD"]
    )
    date, region, service = query["X-Amz-Credential"].split("/")[1:4]
    to_sign = "\n".join(
        [
            "AWS4-HMAC-SHA256",
            query["X-Amz-Date"],
            f"{date}/{region}/{service}/aws4_request",
            hashlib.sha256(canonical.encode()).hexdigest(),
        ]
    )
    key = f"AWS4{secret}".encode()
    for part in (date, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return hmac.compare_digest(hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest(), signature)


def test_presigned_urls_and_calls_that_leave_the_process_are_really_signed() -> None:
    # Given moto in-process with the patches, and an S3 client signing with SigV4
    from botocore.awsrequest import AWSRequest
    from botocore.config import Config

    with mock_aws():
        moto_speedups.install()
        s3 = boto3.client("s3", region_name="us-east-1", config=Config(signature_version="s3v4"))
        secret = s3._request_signer._credentials.get_frozen_credentials().secret_key

        # When a GetObject URL is presigned, and a presigned POST made
        url = s3.generate_presigned_url("get_object", Params={"Bucket": "presigned", "Key": "a/b c.pdf"})
        post = s3.generate_presigned_post("presigned", "a/d.pdf")

        # Then both carry a real signature
        assert _verify_presigned(url, secret)
        assert post["fields"]["x-amz-signature"] != ZEROS and len(post["fields"]["x-amz-signature"]) == 64

        # And a call to a server (an endpoint that is not AWS's: `backoffice serve`) while moto runs is signed
        served = boto3.client(
            "dynamodb",
            region_name="us-east-1",
            endpoint_url="http://127.0.0.1:4566",
            aws_access_key_id="AKIDSERVED",
            aws_secret_access_key="served",
        )
        to_server = AWSRequest(method="POST", url="http://127.0.0.1:4566/", data=b"{}")
        served._request_signer.sign("ListTables", to_server)
        assert "Signature=" in to_server.headers["Authorization"]
        assert ZEROS not in to_server.headers["Authorization"]
        # (while the same call to AWS's endpoint, which moto answers, is not)
        to_aws = AWSRequest(method="POST", url="https://dynamodb.us-east-1.amazonaws.com/", data=b"{}")
        served._request_signer.sign("ListTables", to_aws)
        assert ZEROS in to_aws.headers["Authorization"]

    # And a call nothing in the process answers (moto stopped) is signed as botocore signs it
    dynamodb = boto3.client(
        "dynamodb", region_name="us-east-1", aws_access_key_id="AKIDOUT", aws_secret_access_key="out"
    )
    request = AWSRequest(method="POST", url="https://dynamodb.us-east-1.amazonaws.com/", data=b"{}")
    dynamodb._request_signer.sign("ListTables", request)
    assert "Signature=" in request.headers["Authorization"]
    assert ZEROS not in request.headers["Authorization"]


def test_s3s_url_table_is_read_again_only_when_its_custom_endpoints_change(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given moto in-process with the patches, its S3 urls module's reloads counted
    from moto.s3 import models as s3_models

    reloads: list[str] = []
    reload = s3_models.reload

    def counted(module: Any) -> Any:
        reloads.append(module.__name__)
        return reload(module)

    monkeypatch.setattr(s3_models, "reload", counted)
    monkeypatch.delenv("MOTO_S3_CUSTOM_ENDPOINTS", raising=False)
    with mock_aws():
        moto_speedups.install()
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="read-once")

        # When objects are written and read
        s3.put_object(Bucket="read-once", Key="a", Body=b"a")
        first = len(reloads)
        for n in range(5):
            s3.put_object(Bucket="read-once", Key=f"k{n}", Body=b"k")
            assert s3.get_object(Bucket="read-once", Key=f"k{n}")["Body"].read() == b"k"

        # Then the module was read for the first call alone
        assert len(reloads) == first

        # And a custom endpoint set later is read, and answered on
        monkeypatch.setenv("MOTO_S3_CUSTOM_ENDPOINTS", "https://storage.example.test")
        custom = boto3.client("s3", region_name="us-east-1", endpoint_url="https://storage.example.test")
        assert custom.get_object(Bucket="read-once", Key="a")["Body"].read() == b"a"
        assert len(reloads) > first


def test_request_ids_are_put_into_answers_that_hold_one_only(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given moto's response class patched, and its regex substitution watched
    from moto.core import responses

    with mock_aws():
        moto_speedups.install()
    substituted: list[str] = []
    sub = responses.re.sub

    def watched(pattern: str, replacement: str, body: Any) -> Any:
        substituted.append(body)
        return sub(pattern, replacement, body)

    monkeypatch.setattr(responses.re, "sub", watched)
    enrich = responses.BaseResponse._enrich_response

    # When a JSON answer and an XML one with a request id are enriched
    status: dict[str, Any] = {"status": 200}
    json_headers, json_body = enrich(status, '{"Item": {"pk": {"S": "<Request>"}}}')
    xml_headers, xml_body = enrich({}, "<R><RequestId>old</RequestId></R>")

    # Then the JSON answer is unchanged and not scanned; the XML one carries the id of its header, as moto makes it
    assert json_body == '{"Item": {"pk": {"S": "<Request>"}}}'
    assert json_headers["status"] == "200" and len(json_headers["x-amzn-requestid"]) == 52
    assert substituted == ["<R><RequestId>old</RequestId></R>"]
    assert xml_body == f"<R><RequestId>{xml_headers['x-amzn-requestid']}</RequestId></R>"
