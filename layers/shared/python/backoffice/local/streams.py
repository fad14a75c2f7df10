"""DynamoDB Streams delivered to their catalog functions locally, as Lambda's event source mapping does in AWS.

moto records a table's stream (``StreamShard.items``) but hands it to Lambda only through its Docker-backed
Lambda. Here each stream record is handed to the subscribed catalog function as soon as moto appends it: the real
handler, under its synthesized role (``LocalLambdas.invoke`` acts as the function). Every write to the table is
delivered, whoever made it, as in AWS: a tampering put is streamed like a legitimate one.

Differences from AWS, on purpose: delivery is synchronous (batch of one, right after the write), so tests need no
waiting; a failed delivery stays pending and is retried with the next record or ``drain()``. ``stream_off()``
stands for an attacker who turned the table's stream off around their writes (``UpdateTable``), whose records
never reach the stream (moto cannot switch a stream off and on again: its next put fails).
"""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from infra.catalog import Catalog, Ref

if TYPE_CHECKING:
    from moto.dynamodb.models.table import StreamShard

Invoke = Callable[[str, Any], tuple[Any, dict[str, Any] | None]]


class StreamDelivery:
    def __init__(
        self, catalog: Catalog, names: Mapping[Ref, str], invoke: Invoke, lock: threading.RLock | None = None
    ) -> None:
        """``lock``: held while a record is delivered; the runtime passes the one its item writes hold, since a
        delivery happens inside the write."""
        self._subscribers = {
            names[Ref("table_name", spec.table)]: spec.function for spec in catalog.stream_subscriptions
        }
        self._invoke = invoke
        self._delivered: dict[int, int] = {}  # id(shard) -> records delivered (or skipped) so far
        self._lock = lock or threading.RLock()
        self._off = False
        self._saved_add: Any = None
        self._shards: dict[int, StreamShard] = {}
        self.failures: list[dict[str, Any]] = []

    def install(self) -> None:
        if self._saved_add is not None:
            return
        from moto.dynamodb.models.table import StreamShard  # with the hook, not with a CLI that only reads

        original = StreamShard.add
        self._saved_add = original
        delivery = self

        def add(shard: StreamShard, old: Any, new: Any) -> None:
            original(shard, old, new)
            delivery._on_add(shard)

        StreamShard.add = add  # type: ignore[method-assign, assignment]

    def uninstall(self) -> None:
        if self._saved_add is not None:
            from moto.dynamodb.models.table import StreamShard

            StreamShard.add = self._saved_add  # type: ignore[method-assign]
            self._saved_add = None

    @contextlib.contextmanager
    def stream_off(self) -> Iterator[None]:
        """Writes in this block never reach the stream (see the module's docstring)."""
        with self._lock:
            self._off = True
            try:
                yield
            finally:
                self._off = False

    def drain(self) -> None:
        """Deliver every record not delivered yet (after a failed delivery)."""
        for shard in list(self._shards.values()):
            self._on_add(shard)

    def _on_add(self, shard: StreamShard) -> None:
        function = self._subscribers.get(shard.table.name)
        if function is None:
            return
        with self._lock:
            self._shards[id(shard)] = shard
            start = self._delivered.get(id(shard), 0)
            records = list(shard.items[start:])
            if self._off:
                self._delivered[id(shard)] = start + len(records)
                return
            for offset, record in enumerate(records):
                _, error = self._invoke(function, {"Records": [_as_lambda_record(shard, record.to_json())]})
                if error is not None:
                    # Lambda's mapping retries the batch; here it waits for the next record or drain().
                    self.failures.append(error)
                    print(f"[local streams] {function} failed: {error.get('errorMessage')}", file=sys.stderr)
                    self._delivered[id(shard)] = start + offset
                    return
            self._delivered[id(shard)] = start + len(records)


def _as_lambda_record(shard: StreamShard, record: Mapping[str, Any]) -> dict[str, Any]:
    """moto's stream record in the shape Lambda delivers: a stream ARN, the creation time in epoch seconds."""
    change = dict(record["dynamodb"])
    created = change.get("ApproximateCreationDateTime")
    if isinstance(created, datetime):
        change["ApproximateCreationDateTime"] = created.timestamp()
    table = shard.table
    return {
        **record,
        "dynamodb": change,
        "eventSourceARN": f"{table.table_arn}/stream/{table.latest_stream_label}",
    }


__all__ = ["StreamDelivery"]
