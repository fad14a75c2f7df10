"""A deployed stack for the commands that run a scheduled job now (``backoffice.cli.jobs.run_job_now``): its job
function answers ``result``, and the payload it was sent is kept in ``sent``."""

from __future__ import annotations

import io
import json
from typing import Any


class DeployedJob:
    deployed = True

    def __init__(self, result: dict[str, Any], region: str = "eu-west-1") -> None:
        self.result, self.region = result, region
        self.sent: dict[str, Any] = {}

    def resolve(self, ref: Any) -> str:
        return f"arn:aws:lambda:{self.region}:123456789012:function:{ref.name}"

    def client(self, name: str, config: Any = None) -> Any:
        runtime = self

        class Lambda:
            def invoke(self, FunctionName: str, Payload: bytes) -> dict[str, Any]:
                runtime.sent = {"function": FunctionName, **json.loads(Payload)}
                return {"Payload": io.BytesIO(json.dumps(runtime.result).encode())}

        return Lambda()
