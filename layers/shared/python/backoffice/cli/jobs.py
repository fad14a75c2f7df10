"""Running a scheduled job now, from the command line: the job's function with the operator's payload.

In AWS the function is invoked with the operator's credentials and waited for as long as it may run (its catalog
timeout), never re-invoked on a read timeout; on the local runtime its schedule's endpoint on the server runs it.
``backoffice sanctions refresh``, ``delivery measure`` and ``timesheets remind`` share this.
"""

from __future__ import annotations

import argparse
import json
import urllib.request
from typing import Any

from backoffice.cli.approvals import api_url
from infra.catalog import CATALOG, Ref


def run_job_now(
    args: argparse.Namespace, runtime: Any, *, function: str, schedule: str, payload: dict[str, Any]
) -> tuple[dict[str, Any], str | None]:
    """The job's answer, and its error (``errorType: errorMessage``) when the function failed."""
    timeout = CATALOG.function(function).timeout_seconds
    if runtime.deployed:
        from botocore.config import Config

        patient = Config(read_timeout=timeout + 30, retries={"max_attempts": 0})
        answer = runtime.client("lambda", config=patient).invoke(
            FunctionName=runtime.resolve(Ref("function_arn", function)), Payload=json.dumps(payload).encode()
        )
        result: dict[str, Any] = json.loads(answer["Payload"].read() or b"{}")
        if answer.get("FunctionError"):
            return result, f"{result.get('errorType')}: {result.get('errorMessage')}"
        return result, None
    request = urllib.request.Request(
        f"{api_url(args, runtime)}/_local/schedules/{schedule}",
        data=json.dumps(payload).encode(),
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read()), None
