"""Lambda functions of the catalog, called in-process: the real handlers, no Docker, no simulation.

A ``before-call.lambda.Invoke`` handler on boto3's default session answers every Invoke (from the Step Functions
engine or from our own code) by calling the catalog function's handler, with the response shape Lambda gives:
``FunctionError: Unhandled`` and ``{"errorType", "errorMessage"}`` on an exception, so Retry and Catch on custom
error names behave as in AWS.
"""

from __future__ import annotations

import importlib.util
import io
import json
import sys
import threading
import time
import traceback
import uuid
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any
from urllib.parse import unquote

import boto3
from botocore.awsrequest import AWSResponse
from botocore.response import StreamingBody

from backoffice.local.iam import acting_as_function
from backoffice.local.limits import check_lambda_request, lambda_request_error, lambda_response_error
from infra.catalog import Catalog, LambdaFunction


@dataclass
class LocalLambdaContext:
    """The attributes of Lambda's context object that handlers and Powertools read."""

    function_name: str
    memory_limit_in_mb: int
    invoked_function_arn: str
    timeout_seconds: int
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"
    log_group_name: str = ""
    log_stream_name: str = "local"
    _deadline: float = field(default=0.0, repr=False)

    def __post_init__(self) -> None:
        self._deadline = time.monotonic() + self.timeout_seconds
        self.log_group_name = f"/aws/lambda/{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


@dataclass(frozen=True)
class Invocation:
    function: str
    ok: bool
    error_type: str | None
    duration_ms: float


class LocalLambdas:
    """Dispatches Invoke calls to the catalog's handlers and keeps a log of invocations for the summary."""

    def __init__(self, catalog: Catalog, function_arn: dict[str, str]) -> None:
        self._catalog = catalog
        self._by_name = {fn.name: fn for fn in catalog.functions}
        self._by_arn = {arn: name for name, arn in function_arn.items()}
        self._function_arn = function_arn
        self._modules: dict[str, ModuleType] = {}
        self._lock = threading.Lock()
        self._quiet = threading.Condition()
        self._running = 0  # handlers running now (on moto's engine threads, the router's, the gateway's)
        self.invocations: list[Invocation] = []

    def wait_quiet(self, timeout: float) -> bool:
        """Block until no handler is running (True), or ``timeout`` passes (False)."""
        with self._quiet:
            return self._quiet.wait_for(lambda: self._running == 0, timeout)

    # -- registration on boto3's default session ------------------------------------------------------------------

    def install(self) -> None:
        boto3.setup_default_session()
        assert boto3.DEFAULT_SESSION is not None
        boto3.DEFAULT_SESSION.events.register(
            "before-call.lambda.Invoke", self._on_invoke, unique_id="bo-lambda"
        )

    def uninstall(self) -> None:
        if boto3.DEFAULT_SESSION is not None:
            boto3.DEFAULT_SESSION.events.unregister("before-call.lambda.Invoke", unique_id="bo-lambda")

    def _on_invoke(self, params: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        target = unquote(params["url_path"].split("/functions/", 1)[1].split("/invocations", 1)[0])
        name = self._resolve(target)
        body = params.get("body") or b"{}"
        asynchronous = params.get("headers", {}).get("X-Amz-Invocation-Type") == "Event"
        check_lambda_request(body, asynchronous=asynchronous)  # Lambda's 413 before the function runs
        payload = json.loads(body.decode() if isinstance(body, bytes) else body)
        result, error = self.invoke(name, payload)
        status = 202 if asynchronous else 200
        parsed: dict[str, Any] = {"StatusCode": status, "ExecutedVersion": "$LATEST"}
        raw = json.dumps(error if error else result, default=str).encode()
        if error:
            parsed["FunctionError"] = "Unhandled"
        parsed["Payload"] = StreamingBody(io.BytesIO(raw), len(raw))
        return AWSResponse(params.get("url", ""), status, {}, None), parsed

    def _resolve(self, target: str) -> str:
        if target in self._by_name:
            return target
        # An ARN, possibly with a version or alias qualifier.
        base = ":".join(target.split(":")[:7]) if target.startswith("arn:") else target
        if base in self._by_arn:
            return self._by_arn[base]
        raise KeyError(f"no catalog function answers to {target!r}")

    # -- calling a handler ----------------------------------------------------------------------------------------

    def invoke(self, name: str, payload: Any) -> tuple[Any, dict[str, Any] | None]:
        """Call the handler; return (result, None) or (None, Lambda's error payload)."""
        function = self._by_name[name]
        context = LocalLambdaContext(
            function_name=name,
            memory_limit_in_mb=function.memory_mb,
            invoked_function_arn=self._function_arn[name],
            timeout_seconds=function.timeout_seconds,
        )
        started = time.perf_counter()
        # Callers without boto3 (the gateway, the router) meet Lambda's request limit too.
        refused = lambda_request_error(payload)
        if refused:
            self._record(name, False, refused["errorType"], started)
            return None, refused
        with self._quiet:
            self._running += 1
        try:
            handler = getattr(self._module(function), function.handler.split(".", 1)[1])
            with acting_as_function(name):  # its AWS calls are authorized against its role (local/iam.py)
                result = handler(payload, context)
        except Exception as exc:  # a handler's failure is the state machine's business, as in Lambda
            self._record(name, False, type(exc).__name__, started)
            return None, {
                "errorType": type(exc).__name__,
                "errorMessage": str(exc),
                "stackTrace": traceback.format_exception(exc)[-5:],
            }
        finally:
            with self._quiet:
                self._running -= 1
                self._quiet.notify_all()
        too_large = lambda_response_error(result)  # Lambda answers a function error, as for an exception
        if too_large:
            self._record(name, False, too_large["errorType"], started)
            return None, too_large
        self._record(name, True, None, started)
        return result, None

    def _record(self, name: str, ok: bool, error_type: str | None, started: float) -> None:
        with self._lock:
            self.invocations.append(Invocation(name, ok, error_type, (time.perf_counter() - started) * 1000))

    def _module(self, function: LambdaFunction) -> ModuleType:
        with self._lock:
            if function.name not in self._modules:
                self._modules[function.name] = load_handler_module(function)
            return self._modules[function.name]


def load_handler_module(function: LambdaFunction) -> ModuleType:
    """Import ``functions/<name>/app.py`` under a unique module name, as Lambda would import ``app``."""
    module_name = f"backoffice_functions.{function.name}.app"
    path = function.code_dir / (function.handler.split(".", 1)[0] + ".py")
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load handler of {function.name} from {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module
