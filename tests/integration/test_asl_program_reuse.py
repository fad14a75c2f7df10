"""One program per definition (local/runtime.py, ``_reuse_asl_programs``): moto's engine builds the evaluation
components of a definition once, and every execution runs them; executions running side by side, or one after the
other, answer exactly what executions of freshly built components answer.

A state machine with what the workflows use: a Parallel whose branches are an inline Map (a Choice, Pass states with
a literal Result) and a Task retried, then caught; a Task waiting for its token; a Distributed Map reading its items
from S3 and writing its results there. Each execution gets its own input, its own answer and its own items.
"""

from __future__ import annotations

import ast
import json
import re
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl
from moto.stepfunctions.parser.asl.component.common.retry.max_attempts_decl import MaxAttemptsDecl
from moto.stepfunctions.parser.asl.component.eval_component import EvalComponent
from moto.stepfunctions.parser.asl.component.state.state_pass.result import Result
from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser
from moto.stepfunctions.parser.asl.parse.preprocessor import Preprocessor
from moto.stepfunctions.parser.asl.static_analyser.variable_references_static_analyser import (
    VariableReferencesStaticAnalyser,
)

from backoffice.local import distributed_map, program_store, runtime
from backoffice.local.runtime import MOTO_CONFIG, REGION, _reuse_asl_programs

BUCKET = "program-reuse"
WHO = ("ana", "ben", "cem")

DEFINITION = {
    "StartAt": "Both",
    "States": {
        "Both": {
            "Type": "Parallel",
            "Branches": [
                {
                    "StartAt": "Each line",
                    "States": {
                        "Each line": {
                            "Type": "Map",
                            "ItemsPath": "$.lines",
                            "ItemSelector": {
                                "n.$": "$$.Map.Item.Value",
                                "index.$": "$$.Map.Item.Index",
                                "who.$": "$.who",
                            },
                            "ItemProcessor": {
                                "ProcessorConfig": {"Mode": "INLINE"},
                                "StartAt": "Big?",
                                "States": {
                                    "Big?": {
                                        "Type": "Choice",
                                        "Choices": [
                                            {"Variable": "$.n", "NumericGreaterThanEquals": 10, "Next": "Big"}
                                        ],
                                        "Default": "Small",
                                    },
                                    "Big": {
                                        "Type": "Pass",
                                        "Result": {"size": "big", "notes": []},
                                        "ResultPath": "$.size",
                                        "End": True,
                                    },
                                    "Small": {
                                        "Type": "Pass",
                                        "Result": {"size": "small", "notes": ["under ten"]},
                                        "ResultPath": "$.size",
                                        "End": True,
                                    },
                                },
                            },
                            "End": True,
                        }
                    },
                },
                {
                    "StartAt": "Flaky",
                    "States": {
                        "Flaky": {
                            "Type": "Task",
                            "Resource": "arn:aws:states:::dynamodb:getItem",
                            "Parameters": {"TableName.$": "$.table", "Key": {"pk": {"S.$": "$.who"}}},
                            "Retry": [
                                {"ErrorEquals": ["States.ALL"], "IntervalSeconds": 1, "MaxAttempts": 2}
                            ],
                            "Catch": [
                                {"ErrorEquals": ["States.ALL"], "ResultPath": "$.caught", "Next": "Caught"}
                            ],
                            "End": True,
                        },
                        "Caught": {"Type": "Pass", "End": True},
                    },
                },
            ],
            "ResultPath": "$.both",
            "Next": "Ask",
        },
        "Ask": {
            "Type": "Task",
            "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
            "Parameters": {
                "QueueUrl.$": "$.queue",
                "MessageBody": {"token.$": "$$.Task.Token", "who.$": "$.who"},
            },
            "ResultPath": "$.answer",
            "Next": "Bill",
        },
        "Bill": {
            "Type": "Map",
            "ItemReader": {
                "Resource": "arn:aws:states:::s3:getObject",
                "ReaderConfig": {"InputType": "JSON"},
                "Parameters": {"Bucket": BUCKET, "Key.$": "$.items_key"},
            },
            "MaxConcurrency": 2,
            "ItemSelector": {"project.$": "$$.Map.Item.Value.project", "who.$": "$.who"},
            "ItemProcessor": {
                "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                "StartAt": "Posted",
                "States": {
                    "Posted": {
                        "Type": "Pass",
                        "Parameters": {"project.$": "$.project", "billed_for.$": "$.who", "reasons": []},
                        "End": True,
                    }
                },
            },
            "ResultWriter": {
                "Resource": "arn:aws:states:::s3:putObject",
                "Parameters": {"Bucket": BUCKET, "Prefix.$": "$.who"},
            },
            "ResultPath": "$.billed",
            "End": True,
        },
    },
}


class _NoSleep:
    """The Retry's interval, not waited for (the runtime scales it the same way)."""

    @staticmethod
    def sleep(seconds: float) -> None:
        return None


@pytest.fixture
def engine(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[tuple[Any, Any, Any, str, str]]:
    monkeypatch.setattr(program_store, "STORE", tmp_path / "programs")
    with mock_aws(config=MOTO_CONFIG):
        _reuse_asl_programs()
        distributed_map.install()
        monkeypatch.setattr(retrier_decl, "time", _NoSleep())
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=BUCKET)
        for n, who in enumerate(WHO):
            items = [{"project": f"{who}-P{k}"} for k in range(n + 2)]
            s3.put_object(Bucket=BUCKET, Key=f"items/{who}.json", Body=json.dumps(items).encode())
        sqs = boto3.client("sqs", region_name=REGION)
        queue = sqs.create_queue(QueueName="asks")["QueueUrl"]
        sfn = boto3.client("stepfunctions", region_name=REGION)
        arn = sfn.create_state_machine(
            name="program-reuse",
            definition=json.dumps(DEFINITION),
            roleArn="arn:aws:iam::123456789012:role/program-reuse",
        )["stateMachineArn"]
        yield s3, sqs, sfn, arn, queue


def _input(who: str, n: int, queue: str) -> dict[str, Any]:
    return {
        "who": who,
        "lines": [n * 7 + k * 3 for k in range(3 + n)],
        "table": f"missing-{who}",
        "queue": queue,
        "items_key": f"items/{who}.json",
    }


def _run_all(engine: tuple[Any, Any, Any, str, str], round_name: str) -> dict[str, Any]:
    """Start one execution per person at once, answer each one's task token with its own answer, and return what
    each execution ended with: status, output (the map run's ARN and a request's id left out), events by type, the results written."""
    s3, sqs, sfn, arn, queue = engine
    started: dict[str, str] = {}

    def start(n: int, who: str) -> None:
        started[who] = sfn.start_execution(
            stateMachineArn=arn, name=f"{round_name}-{who}", input=json.dumps(_input(who, n, queue))
        )["executionArn"]

    threads = [threading.Thread(target=start, args=(n, who)) for n, who in enumerate(WHO)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    asked: dict[str, str] = {}
    for _ in range(1000):
        for message in sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", []):
            body = json.loads(message["Body"])
            asked[body["who"]] = body["token"]
            sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
        if len(asked) == len(WHO):
            break
        time.sleep(0.01)
    assert sorted(asked) == sorted(WHO)
    for who, token in asked.items():
        sfn.send_task_success(taskToken=token, output=json.dumps({"approved_by": f"{who}'s manager"}))
    ended: dict[str, Any] = {}
    for who, execution_arn in started.items():
        for _ in range(1000):
            described = sfn.describe_execution(executionArn=execution_arn)
            if described["status"] != "RUNNING":
                break
            time.sleep(0.01)
        output = json.loads(described.get("output", "null"))
        written = output["billed"].pop("ResultWriterDetails")
        output["billed"].pop("MapRunArn")
        caught = output["both"][1]["caught"]  # the request's id left out
        caught["Cause"] = re.sub(r"Request ID: [^;]*", "Request ID: -", caught["Cause"])
        manifest = json.loads(s3.get_object(**written)["Body"].read())
        results = [
            (entry["Status"], json.loads(entry["Input"]), json.loads(entry["Output"]))
            for files in manifest["ResultFiles"].values()
            for file in files
            for entry in json.loads(s3.get_object(Bucket=BUCKET, Key=file["Key"])["Body"].read())
        ]
        events = sfn.get_execution_history(executionArn=execution_arn, maxResults=1000)["events"]
        ended[who] = {
            "status": described["status"],
            "output": output,
            "events": Counter(event["type"] for event in events),
            "results": results,
        }
    return ended


def _run_on_fresh_components(
    engine: tuple[Any, Any, Any, str, str], monkeypatch: pytest.MonkeyPatch
) -> dict[str, Any]:
    """``_run_all`` with the components built afresh for each execution (moto's own parser, as without the runtime)."""
    original = AmazonStateLanguageParser.parse.original  # type: ignore[attr-defined]
    with monkeypatch.context() as patched:
        patched.setattr(AmazonStateLanguageParser, "parse", staticmethod(original))
        return _run_all(engine, "fresh")


def _count_preprocessing(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    built = [0]
    original = Preprocessor.visitState_machine

    def visit(self: Any, ctx: Any) -> Any:
        built[0] += 1
        return original(self, ctx)

    monkeypatch.setattr(Preprocessor, "visitState_machine", visit)
    return built


def test_executions_side_by_side_and_one_after_another_answer_what_fresh_components_answer(
    engine: tuple[Any, Any, Any, str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    built = _count_preprocessing(monkeypatch)
    # Given the machine's program, built when the machine was created
    # When three executions run at once, each with its own input, items and answer, and then three more
    first = _run_all(engine, "first")
    second = _run_all(engine, "second")
    # Then none of them built the program again
    assert built[0] == 0
    # When the same executions run on components built afresh for each (as moto does by itself)
    definition = json.dumps(DEFINITION)
    fresh_round = _run_on_fresh_components(engine, monkeypatch)
    assert built[0] == len(WHO)
    # Then each execution's status, output, events by type and written results are the same in every round
    for who in WHO:
        for field in ("status", "output", "events", "results"):
            assert first[who][field] == second[who][field] == fresh_round[who][field], (who, field)
    # And those are each execution's own: its lines sized, its retries (two, then caught), its answer, its items
    for n, who in enumerate(WHO):
        ended = first[who]
        assert ended["status"] == "SUCCEEDED"
        lines, flaky = ended["output"]["both"]
        assert [line["n"] for line in lines] == _input(who, n, "")["lines"]
        assert all(line["who"] == who for line in lines)
        assert [line["size"]["size"] for line in lines] == [
            "big" if line["n"] >= 10 else "small" for line in lines
        ]
        assert flaky["caught"]["Error"] == "DynamoDB.ResourceNotFoundException"
        assert ended["events"]["TaskFailed"] == 3  # the first attempt and two retries, in every execution
        assert ended["output"]["answer"] == {"approved_by": f"{who}'s manager"}
        assert sorted(output["project"] for _, _, output in ended["results"]) == [
            f"{who}-P{k}" for k in range(n + 2)
        ]
        assert {output["billed_for"] for _, _, output in ended["results"]} == {who}
    # And the Pass states' literal Results are still as the definition writes them
    program, _ = AmazonStateLanguageParser.parse(definition)
    assert sorted(json.dumps(result.result_obj) for result in _components(program, Result)) == [
        '{"size": "big", "notes": []}',
        '{"size": "small", "notes": ["under ten"]}',
    ]


def test_components_read_back_from_disk_by_the_next_process_answer_what_fresh_components_answer(
    engine: tuple[Any, Any, Any, str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    definition = json.dumps(DEFINITION)
    # Given the definition's components as a process that built them kept them on disk (an empty store first)
    monkeypatch.setattr(program_store, "STORE", program_store.STORE.parent / "first-process")
    monkeypatch.setattr(runtime, "_programs", {})
    monkeypatch.setattr(runtime, "_parse_trees", {})
    built_here, tree = AmazonStateLanguageParser.parse(definition)
    assert tree is not None
    assert (program_store.STORE / f"{program_store.program_key(definition)}.pickle").is_file()
    # When the next process asks for them (nothing of the definition in memory)
    monkeypatch.setattr(runtime, "_programs", {})
    monkeypatch.setattr(runtime, "_parse_trees", {})
    built = _count_preprocessing(monkeypatch)
    read_back, tree = AmazonStateLanguageParser.parse(definition)
    # Then they are read, not built, and come without their syntax tree
    assert built[0] == 0
    assert read_back is not built_here
    assert tree is None
    assert AmazonStateLanguageParser.parse(definition)[0] is read_back
    # And every retry component keeps the heap key drawn before they were kept
    assert all(
        vars(component).get("_EvalComponent__heap_key") for component in _components(read_back, EvalComponent)
    )
    # When executions run on them, side by side, and then on components built afresh for each
    stored = _run_all(engine, "stored")
    assert built[0] == 0
    fresh_round = _run_on_fresh_components(engine, monkeypatch)
    assert built[0] == len(WHO)
    # Then each execution answers the same
    for who in WHO:
        for field in ("status", "output", "events", "results"):
            assert stored[who][field] == fresh_round[who][field], (who, field)
    assert all(stored[who]["status"] == "SUCCEEDED" for who in WHO)
    # And moto's static analysis, the one reader of the syntax tree (a machine's variable references), still reads it
    assert VariableReferencesStaticAnalyser.process_and_get(definition) == {}
    assert runtime._parse_trees[definition] is not None


def test_only_the_static_analysers_read_the_syntax_tree_of_a_definition() -> None:
    # Given every call of moto's ASL parser in the installed moto (a program read back from disk has no tree)
    import moto
    from moto.stepfunctions.parser.asl.static_analyser.static_analyser import StaticAnalyser

    root = Path(moto.__file__).parent
    uses: list[tuple[str, str]] = []
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text())
        parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "parse"
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "AmazonStateLanguageParser"
            ):
                parent = parents[node]
                if isinstance(parent, ast.Subscript) and ast.literal_eval(parent.slice) == 0:
                    use = "the components"
                elif isinstance(parent, ast.Expr):
                    use = "nothing"
                else:
                    use = ast.unparse(parent)
                uses.append((str(path.relative_to(root)), use))
    # Then the execution worker takes the components, the validation nothing, and the static analysers' base (the
    # runtime hands it the tree, parsed when asked) the tree; a new reader needs a look: does it read the tree?
    assert uses == [
        (
            "stepfunctions/parser/asl/static_analyser/static_analyser.py",
            "_, parser_rule_context = AmazonStateLanguageParser.parse(definition)",
        ),
        ("stepfunctions/parser/backend/execution_worker.py", "the components"),
        ("stepfunctions/parser/models.py", "nothing"),
    ]
    # And no analyser of state machines reads the tree its own way (the test-state and intrinsic-function ones use
    # parsers of their own, which the runtime leaves alone)
    own = {
        (str(path.relative_to(root)), node.name)
        for path in sorted((root / "stepfunctions").rglob("*.py"))
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.ClassDef)
        and any(isinstance(item, ast.FunctionDef) and item.name == "analyse" for item in node.body)
    }
    assert own == {
        ("stepfunctions/parser/asl/static_analyser/static_analyser.py", StaticAnalyser.__name__),
        (
            "stepfunctions/parser/asl/static_analyser/intrinsic/intrinsic_static_analyser.py",
            "IntrinsicStaticAnalyser",
        ),
        (
            "stepfunctions/parser/asl/static_analyser/test_state/test_state_analyser.py",
            "TestStateStaticAnalyser",
        ),
    }


def test_every_retry_component_has_its_heap_key_before_the_program_is_shared(
    engine: tuple[Any, Any, Any, str, str],
) -> None:
    # Given the machine's program, as every execution gets it
    program, _ = AmazonStateLanguageParser.parse(json.dumps(DEFINITION))
    assert AmazonStateLanguageParser.parse(json.dumps(DEFINITION))[0] is program
    # Then its retry counter already has the key its executions keep their attempts under (moto draws it lazily)
    attempts = _components(program, MaxAttemptsDecl)
    assert len(attempts) == 1
    assert all(
        vars(component).get("_EvalComponent__heap_key") for component in _components(program, EvalComponent)
    )


def _components(root: Any, kind: type) -> list[Any]:
    found, seen, pending = [], set(), [root]
    while pending:
        value = pending.pop()
        if id(value) in seen:
            continue
        seen.add(id(value))
        if isinstance(value, dict):
            pending.extend(value.values())
        elif isinstance(value, (list, tuple)):
            pending.extend(value)
        elif hasattr(value, "__dict__") and type(value).__module__.startswith(
            "moto.stepfunctions.parser.asl"
        ):
            if isinstance(value, kind):
                found.append(value)
            pending.extend(vars(value).values())
    return found
