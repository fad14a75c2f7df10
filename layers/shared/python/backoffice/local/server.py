"""``backoffice serve``: the local runtime as a server on 127.0.0.1, shared by the CLI, tests and a browser.

One process holds everything: moto's server (every AWS API the product uses, over HTTP, for the CLI, tests and a
browser) with the Step Functions engine switched on, the Lambda hook calling the real handlers, and the event router
wrapped around ``PutEvents``. The handlers and the engine inside it call moto in-process, over the same backends
(each of their calls over HTTP to their own server cost about 40% of the server's time; bench/serve_throughput.py).
"""

from __future__ import annotations

import json
import logging
import socket
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from backoffice.local.runtime import LocalRuntime

if TYPE_CHECKING:
    from moto.server import ThreadedMotoServer

DEFAULT_PORT = 4566
DEFAULT_OUTBOX = Path(".local/outbox")
DEFAULT_OUTPUTS_FILE = Path(".local/cdk-outputs.json")


def free_port() -> int:
    """A free port for ``backoffice serve`` whose neighbour (the server's API gateway, ``port + 1``) is free too."""
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        with socket.socket() as neighbour:
            try:
                neighbour.bind(("127.0.0.1", port + 1))
            except OSError:
                continue
        return port


class LocalServer:
    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = DEFAULT_PORT,
        retry_time_scale: float = 1.0,
        api_port: int | None = None,
        outbox_dir: Path = DEFAULT_OUTBOX,
        outputs_file: Path | None = DEFAULT_OUTPUTS_FILE,
    ) -> None:
        """``outputs_file``: where the server writes its resources' names in the shape ``cdk deploy
        --outputs-file`` writes a stack's (None: nowhere), so ``backoffice --outputs-file`` reaches it as it would
        reach the deployed stack."""
        from backoffice.local.console import mount_console  # loaded with a server, not with the CLI's help

        if host not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError("the local server only listens on the loopback interface")
        self.host, self.port = host, port
        self.endpoint_url = f"http://{host}:{port}"
        self.runtime = LocalRuntime(
            endpoint_url=self.endpoint_url,
            retry_time_scale=retry_time_scale,
            api_port=api_port if api_port is not None else port + 1,
            outbox_dir=outbox_dir,
            serving=True,
        )
        assert self.runtime.gateway is not None
        self.runtime.gateway.mount(self._run_schedule)
        self.runtime.gateway.mount(mount_console(self.runtime))
        self.api_url = self.runtime.api_url
        self.outputs_file = outputs_file
        self._moto: ThreadedMotoServer | None = None
        self.stopped = threading.Event()

    def start(self) -> None:
        from moto.server import ThreadedMotoServer

        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        logging.getLogger("moto").setLevel(logging.CRITICAL)
        self._moto = ThreadedMotoServer(ip_address=self.host, port=self.port, verbose=False)
        self._moto.start()
        # The handlers and the engine in this process call moto in-process (with the engine configuration the
        # runtime gives it); the HTTP server above serves everyone else from the same backends.
        self.runtime.start()
        if self.outputs_file is not None:
            self.write_outputs(self.outputs_file)

    def write_outputs(self, path: Path) -> None:
        """The server's names as a client reaches them (queue URLs on its endpoint), as a stack's outputs."""
        from backoffice.local.runtime import local_names
        from backoffice.operate.deployment import local_outputs
        from infra.catalog import Ref

        names = local_names(self.runtime.catalog, endpoint_url=self.endpoint_url)
        names[Ref("api_url")] = self.api_url
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".partial")
        partial.write_text(json.dumps(local_outputs(names, self.runtime.catalog), indent=2) + "\n")
        partial.replace(path)

    def _run_schedule(
        self, method: str, path: str, query: dict[str, list[str]], body: bytes
    ) -> tuple[int, dict[str, str], bytes] | None:
        """``POST /_local/schedules/<name>``: run a scheduled function now (EventBridge Scheduler's job in AWS)."""
        prefix = "/_local/schedules/"
        if method != "POST" or not path.startswith(prefix):
            return None
        name = path[len(prefix) :]
        schedule = next((s for s in self.runtime.catalog.schedules if s.name == name), None)
        if schedule is None:
            return 404, {"Content-Type": "application/json"}, b'{"message":"no such schedule"}'
        # An operator's run now (``backoffice sanctions refresh --as``) says who asked, in a JSON body, and may
        # name the month (``backoffice delivery measure --month``).
        sent = json.loads(body) if body.strip() else {}
        asked = {"requested_by": str(sent["requested_by"])} if sent else {}
        if sent.get("month"):
            asked["month"] = str(sent["month"])
        for name in ("week", "as_of"):  # ``backoffice timesheets remind --week ... --as-of ...``
            if sent.get(name):
                asked[name] = str(sent[name])
        payload = asked or {"source": "backoffice.local", "schedule": name}
        result, error = self.runtime.lambdas.invoke(schedule.function, payload)
        status = 500 if error else 200
        return status, {"Content-Type": "application/json"}, json.dumps(error or result, default=str).encode()

    def stop(self) -> None:
        self.runtime.stop()
        if self._moto is not None:
            self._moto.stop()
            self._moto = None
        self.stopped.set()
