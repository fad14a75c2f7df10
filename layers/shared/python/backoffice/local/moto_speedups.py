"""moto without costs that grow with the data: a query reads its partition, a transaction backs up its items.

Measured on ``backoffice serve`` (bench/serve_throughput.py), before these patches: onboarding cases slowed from
0.99 to 0.60 cases/s between the first and the second hundred and the server grew by 19.6 MiB per case. Two
causes, both in moto 5.2.5 and both growing with everything the tables hold, not with what a call touches:

- ``Table.query`` without an index lists (and sorts) every item of the table, then keeps those of the asked
  partition key. Every audit append reads its case's head that way, every sandbox read its entity.
- ``transact_write_items`` deep-copies each table it writes to, whole, before it starts (to put the copy back if
  the transaction is cancelled). moto also tracks every model instance it creates for its reset, so each copy of
  the table stayed in memory for good: every sandbox create (an idempotency claim and its record, written in one
  transaction) kept a copy of the whole sandbox table.

What DynamoDB answers does not change: a query returns the same items in the same order with the same pages
(moto still filters on the key, sorts by the range key and applies limits, filters and projections); a transaction
still checks every condition, writes all or nothing, and a cancelled one leaves each item it touched as it was
(its items are backed up one by one, under the same lock as every item write, instead of its tables).
"""

from __future__ import annotations

import copy
import functools
import os
import re
import threading
from typing import Any

_local = threading.local()  # per thread: the partition a query reads; whether a transaction is backing up


def install() -> None:
    """Patch moto once per process (idempotent; the runtime calls it whenever it installs its hooks)."""
    _query_reads_its_partition()
    _transactions_back_up_their_items()
    _json_paths_parsed_once()
    _item_copies_not_kept()
    _kms_key_pairs_made_when_used()
    _object_versions_listed_by_prefix()
    _json_answers_walked_directly()
    _handler_methods_listed_once()
    _in_process_calls_signed_cheaply()
    _s3_urls_read_once()
    _request_ids_put_only_where_asked()


def _object_versions_listed_by_prefix() -> None:
    """moto's ``list_object_versions`` deep-copies every version of every key in the bucket, content included,
    sorts them all, and only then keeps those under the asked prefix: each audit verification lists one case's
    anchors that way (34 ms a call in ``make run`` at 300 anchors, growing with every record anchored). The keys
    outside the prefix are now left out before the copy. Only on a first page, or one resumed after a version
    (``version_id_marker``): moto's resumption after a bare ``key_marker`` skips the first version at or after it,
    whatever its key, so that page is listed as before and answers exactly what it answered."""
    from moto.s3 import models as s3_models
    from moto.s3.utils import _VersionedKeyStore

    original = s3_models.S3Backend.list_object_versions
    if getattr(original, "by_prefix", False):
        return

    def list_object_versions(
        backend: Any,
        bucket_name: str,
        delimiter: str | None = None,
        key_marker: str | None = None,
        max_keys: int | None = 1000,
        prefix: str = "",
        version_id_marker: str | None = None,
    ) -> Any:
        narrow = bool(prefix) and (key_marker is None or bool(version_id_marker))
        _local.version_prefix = prefix if narrow else None
        try:
            return original(backend, bucket_name, delimiter, key_marker, max_keys, prefix, version_id_marker)
        finally:
            _local.version_prefix = None

    every_key = _VersionedKeyStore._iterlists

    def iterlists(store: Any) -> Any:
        prefix = getattr(_local, "version_prefix", None)
        for key, versions in every_key(store):
            if prefix is None or key.startswith(prefix):
                yield key, versions

    list_object_versions.by_prefix = True  # type: ignore[attr-defined]
    s3_models.S3Backend.list_object_versions = list_object_versions  # type: ignore[method-assign, assignment]
    _VersionedKeyStore.iterlists = iterlists  # type: ignore[assignment]


def _kms_key_pairs_made_when_used() -> None:
    """moto generates an RSA-2048 key pair for every KMS key it creates, whatever the key's spec (about 50 ms of
    CPU; every runtime creates the audit trail's HMAC key, and the tests start hundreds of runtimes). Only Sign,
    Verify and GetPublicKey read the pair: it is generated then, once, as moto would have made it at creation."""
    from moto.kms import models as kms_models

    original = kms_models.generate_private_key
    if getattr(original, "lazy", False):
        return

    def generate_private_key(key_spec: str) -> Any:
        return _KeyPairWhenUsed(functools.partial(original, key_spec))

    generate_private_key.lazy = True  # type: ignore[attr-defined]
    kms_models.generate_private_key = generate_private_key


class _KeyPairWhenUsed:
    def __init__(self, make: Any) -> None:
        self._make = make
        self._made: Any = None
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):  # copy and pickle look for __deepcopy__, __getstate__...: not the key's
            raise AttributeError(name)
        with self._lock:
            if self._made is None:
                self._made = self._make()
        return getattr(self._made, name)

    def __deepcopy__(self, memo: dict[int, Any]) -> _KeyPairWhenUsed:
        """A copied KMS key (the local runtime copies its backends, resource_snapshot.py) makes its own pair when
        used, or shares the pair already made (a key pair is immutable)."""
        copied = _KeyPairWhenUsed(self._make)
        copied._made = self._made
        return copied


def _item_copies_not_kept() -> None:
    """moto keeps a reference to every model object it creates (``instances_tracked``, read by its dashboard
    only), DynamoDB items included, and every query answers with copies of its items: each read kept its copies
    for good (measured: about 100 KiB per onboarding case). Items are data in a table, not models to list: they
    are made as plain objects, and live as long as their table or their caller holds them."""
    from moto.dynamodb.models.dynamo_type import Item

    if getattr(Item.__new__, "untracked", False):
        return

    def __new__(cls: type[Any], *args: Any, **kwargs: Any) -> Any:
        return object.__new__(cls)

    __new__.untracked = True  # type: ignore[attr-defined]
    Item.__new__ = staticmethod(__new__)  # type: ignore[method-assign]
    Item.instances_tracked.clear()  # type: ignore[attr-defined]


def _json_paths_parsed_once() -> None:
    """moto's Step Functions engine parses every JSONPath (``$.deal.opportunity.id``) each time a state evaluates
    it, and jsonpath-ng builds a new PLY lexer and parser for every parse (0.8 ms here; a case evaluates a few
    hundred paths). A parsed path is a read-only expression tree: each distinct text is parsed once per process
    (the cache is bounded) and evaluated against each state's data as before."""
    from moto.stepfunctions.parser.asl.component.common.path import result_path
    from moto.stepfunctions.parser.asl.utils import json_path

    for module in (json_path, result_path):
        if getattr(module.parse, "parsed_once", False):
            continue
        cached = functools.lru_cache(maxsize=4096)(module.parse)
        cached.parsed_once = True  # type: ignore[attr-defined]
        module.parse = cached  # type: ignore[attr-defined]


def _query_reads_its_partition() -> None:
    from moto.dynamodb.models.table import Table

    if not getattr(Table.query, "reads_its_partition", False):
        Table.query = _partition_query(Table.query)  # type: ignore[method-assign]
    if not getattr(Table.all_items, "reads_its_partition", False):
        # Also after another patch replaced all_items (the runtime's snapshot sort): this one wraps whatever is there.
        Table.all_items = _partition_items(Table.all_items)  # type: ignore[method-assign]


def _partition_query(original_query: Any) -> Any:
    def query(self: Any, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
        # moto's query takes the index name as its 8th positional argument (the backend passes it that way).
        index_name = kwargs.get("index_name", args[6] if len(args) > 6 else None)
        if index_name or hash_key is None:
            return original_query(self, hash_key, *args, **kwargs)
        previous = getattr(_local, "partition", None)
        _local.partition = (self, hash_key)
        try:
            return original_query(self, hash_key, *args, **kwargs)
        finally:
            _local.partition = previous

    query.reads_its_partition = True  # type: ignore[attr-defined]
    return query


def _partition_items(original_all_items: Any) -> Any:
    def all_items(self: Any) -> list[Any]:
        asked = getattr(_local, "partition", None)
        if asked is None or asked[0] is not self:
            return original_all_items(self)
        # The items moto's query would keep from the whole table (its key filter and range sort still run).
        partition = self.items.get(asked[1])
        if partition is None:
            return []
        if self.range_key_attr:
            return list(partition.values())  # a snapshot: another thread may add to the partition meanwhile
        return [partition]

    all_items.__dict__.update(
        original_all_items.__dict__
    )  # the wrapped one's markers: it counts as installed
    all_items.reads_its_partition = True  # type: ignore[attr-defined]
    return all_items


def _transactions_back_up_their_items() -> None:
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.table import Table

    if getattr(DynamoDBBackend.transact_write_items, "backs_up_items", False):
        return
    original_transaction = DynamoDBBackend.transact_write_items

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        from backoffice.local.runtime import _write_lock  # the lock every item write takes (reentrant)

        with _write_lock:
            saved = _back_up(self, transact_items)
            _local.in_transaction = True
            try:
                return original_transaction(self, transact_items)
            except BaseException:
                _restore(saved)
                raise
            finally:
                _local.in_transaction = False

    transact_write_items.__dict__.update(original_transaction.__dict__)
    transact_write_items.backs_up_items = True  # type: ignore[attr-defined]
    Table.__deepcopy__ = _table_copy  # type: ignore[attr-defined]
    DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]


def _table_copy(table: Any, memo: dict[int, Any]) -> Any:
    if getattr(_local, "in_transaction", False):
        # moto's transaction asks for a copy of the whole table to put back if it is cancelled; the items it
        # touches are backed up one by one instead (_back_up), so its "put back" is a no-op on the same table.
        return table
    # Any other copy (a backup, a restore) is made as copy.deepcopy makes it for a class without this method.
    return copy._reconstruct(table, memo, *table.__reduce_ex__(4))  # type: ignore[attr-defined]


# What a transaction backs up per item: table, hash key, range key, the item before (None: none), stream length.
_Saved = tuple[Any, Any, Any, Any, int]


def _back_up(backend: Any, transact_items: list[dict[str, Any]]) -> list[_Saved]:
    from moto.dynamodb.models.dynamo_type import DynamoType

    saved = []
    for entry in transact_items:
        for operation, request in entry.items():
            table = backend.tables.get(request.get("TableName")) if isinstance(request, dict) else None
            if table is None:
                continue
            key = request.get("Item") if operation == "Put" else request.get("Key")
            names = [name for name in (table.hash_key_attr, table.range_key_attr) if name]
            if not isinstance(key, dict) or any(name not in key for name in names):
                continue  # moto refuses it itself, before any write
            hash_value = DynamoType(key[table.hash_key_attr])
            range_value = DynamoType(key[table.range_key_attr]) if table.range_key_attr else None
            current = table.get_item(hash_value, range_value)
            shard = table.stream_shard
            before = copy.deepcopy(current) if current is not None else None
            saved.append((table, hash_value, range_value, before, len(shard.items) if shard else 0))
    return saved


def _restore(saved: list[_Saved]) -> None:
    for table, hash_value, range_value, before, records in reversed(saved):
        if range_value is not None:
            partition = table.items[hash_value]
            if before is None:
                partition.pop(range_value, None)
            else:
                partition[range_value] = before
            if not partition:
                del table.items[hash_value]
        elif before is None:
            table.items.pop(hash_value, None)
        else:
            table.items[hash_value] = before
        if table.stream_shard is not None:
            del table.stream_shard.items[records:]  # a cancelled transaction leaves no stream record


def _handler_methods_listed_once() -> None:
    """moto lists every function of the response class (``inspect.getmembers``, a few hundred names) on every
    call, only to ask whether the action is one of them: 2.6% of the tests' CPU. The names are kept per class;
    an action counts as listed while the class still has it as a function, and one not listed makes moto list
    the class again (a method patched on later is found as before)."""
    from moto.core import responses

    original = responses.method_names_from_class
    if getattr(original, "listed_once", False):
        return
    listed: dict[type, _MethodNames] = {}

    def method_names_from_class(clazz: Any) -> Any:
        names = listed.get(clazz)
        if names is None:
            names = listed[clazz] = _MethodNames(clazz, original)
        return names

    method_names_from_class.listed_once = True  # type: ignore[attr-defined]
    responses.method_names_from_class = method_names_from_class


class _MethodNames(list[str]):
    """moto's list of a class's function names, listed again when asked for a name it does not hold."""

    def __init__(self, clazz: Any, list_names: Any) -> None:
        super().__init__(list_names(clazz))
        self._clazz = clazz
        self._list_names = list_names
        self._names = set(self)

    def __contains__(self, name: object) -> bool:
        import inspect

        if name in self._names and inspect.isfunction(getattr(self._clazz, str(name), None)):
            return True
        self[:] = self._list_names(self._clazz)
        self._names = set(self)
        return name in self._names


def _json_answers_walked_directly() -> None:
    """moto answers a JSON-protocol call (DynamoDB, KMS, Step Functions, EventBridge) by walking the operation's
    output shape with a generic serializer: for every member of every structure it makes a context object, asks
    six alias providers which keys the value may sit under, and tries each; every DynamoDB attribute value is
    such a structure of ten members. 13% of the tests' CPU. The same walk is now made with each structure's
    candidate keys worked out once per shape, for results made of plain dicts and lists (what DynamoDB answers
    are): same keys tried in the same order, same conversions, same JSON. Anything else (a model object, a
    timestamp, a response transformer, pretty printing) goes to moto's own serializer, as before."""
    from moto.core import serialize

    original = serialize.JSONSerializer._serialize_result
    if getattr(original, "walked_directly", False):
        return
    providers = tuple(serialize.DEFAULT_ALIAS_PROVIDERS)

    def _serialize_result(serializer: Any, resp: Any, result: Any) -> Any:
        picker = serializer._value_picker
        output_shape = serializer.operation_model.output_shape
        if (
            type(serializer) is not serialize.JSONSerializer
            or type(picker) is not serialize.XFormedAttributePicker
            or picker.response_transformers
            or tuple(picker.alias_providers) != providers
            or serializer.pretty_print
            or output_shape is None
            or type(result) is not dict
        ):
            return original(serializer, resp, result)
        serialized: dict[str, Any] = {}
        _JsonWalk(serializer).structure(serialized, result, output_shape, "")
        return serializer._serialized_result_to_response(resp, result, output_shape, serialized)

    _serialize_result.walked_directly = True  # type: ignore[attr-defined]
    _serialize_result.moto_serialize_result = original  # type: ignore[attr-defined]
    serialize.JSONSerializer._serialize_result = _serialize_result  # type: ignore[method-assign, assignment]


_Plan = tuple[list[tuple[str, tuple[str, ...], Any]], dict[str, tuple[str, Any]]]
_plans: dict[int, tuple[Any, _Plan | None]] = {}
_plans_lock = threading.Lock()


def _member_plan(shape: Any) -> _Plan | None:
    """Per member of a structure: its key, the keys moto's picker tries on a plain dict (in its order) and its
    shape; and the keys only one member tries (a dict holding one of them alone answers that member alone, as a
    DynamoDB attribute value ``{"S": ...}`` does). None: moto's own walk (a key with a dot is a path to it)."""
    known = _plans.get(id(shape))
    if known is not None and known[0] is shape:
        return known[1]
    from botocore import xform_name

    members = []
    tried_by: dict[str, list[tuple[str, Any]]] = {}
    for key, member in shape.members.items():
        member.parent = shape  # as moto's walk sets it
        aliases = []
        if (
            member.type_name in ("list", "structure")
            and member.name not in shape.members
            and key != member.name
        ):
            aliases.append(member.name)  # ShapeNameAlias
        aliases.append(key)  # NoAlias
        if key.lower().startswith(shape.name.lower()) and key[len(shape.name) :] not in shape.members:
            aliases.append(key[len(shape.name) :])  # ShapePrefixAlias
        if key.lower().startswith("dict"):
            aliases.append(key[4:])  # ClassPrefixAlias (the value is a dict)
        if member.serialization.get("name", key) != key:
            aliases.append(member.serialization["name"])  # ModelAlias
        candidates: list[str] = []
        for alias in aliases:
            candidates += [alias, xform_name(alias)]
        members.append((key, tuple(candidates), member))
        for candidate in set(candidates):
            tried_by.setdefault(candidate, []).append((key, member))
    plan: _Plan | None = (members, {k: found[0] for k, found in tried_by.items() if len(found) == 1})
    if any("." in candidate for candidate in tried_by):
        plan = None
    with _plans_lock:
        _plans[id(shape)] = (shape, plan)
    return plan


class _JsonWalk:
    """moto's JSON serializer's walk (BaseJSONSerializer and ResponseSerializer's _serialize_type_* methods), for
    plain dicts and lists; any other value is handed to the serializer itself, which walks it as before."""

    def __init__(self, serializer: Any) -> None:
        self.serializer = serializer

    def value(self, serialized: dict[str, Any], value: Any, shape: Any, key: str) -> None:
        kind = shape.type_name
        if kind == "structure":
            self.structure(serialized, value, shape, key)
        elif kind == "string":
            serialized[shape.serialization.get("name", key)] = _string(value)
        elif kind == "list" and type(value) is list:
            member = shape.member
            if member.type_name == "string" and "name" not in member.serialization:
                items = [_string(item) for item in value]
            else:
                items = []
                for item in value:
                    wrapper: dict[str, Any] = {}
                    self.value(wrapper, item, member, member.name)
                    items.append(wrapper.get(member.name, item))
            serialized[shape.serialization.get("name", key)] = items
        elif kind == "map" and type(value) is dict:
            mapped: dict[str, Any] = {}
            serialized[shape.serialization.get("name", key)] = mapped
            for sub_key, sub_value in value.items():
                self.value(mapped, sub_value, shape.value, sub_key)
        elif kind == "boolean":  # JSONSerializer has no method for it: moto's _default_serialize
            serialized[shape.serialization.get("name", key)] = value
        else:  # numbers, blobs, timestamps, anything not a plain list or dict: moto's own method
            self.serializer._serialize(serialized, value, shape, key)

    def structure(self, serialized: dict[str, Any], value: Any, shape: Any, key: str) -> None:
        if shape.is_document_type:
            serialized[key] = value
            return
        if value is None:
            return
        plan = _member_plan(shape) if type(value) is dict else None
        if plan is None:
            self.serializer._serialize(serialized, value, shape, key)
            return
        members, alone = plan
        wrapper: dict[str, Any] = {} if key else serialized
        if len(value) == 1 and next(iter(value)) in alone:
            ((candidate, member_value),) = value.items()
            member_key, member = alone[candidate]
            if member_value is not None:
                self.value(wrapper, member_value, member, member_key)
        else:
            for member_key, candidates, member in members:
                for candidate in candidates:
                    if candidate in value:
                        if value[candidate] is not None:
                            self.value(wrapper, value[candidate], member, member_key)
                        break
        if key:
            serialized[shape.serialization.get("name", key)] = wrapper


def _string(value: Any) -> Any:
    """BaseJSONSerializer._serialize_type_string's conversion."""
    from enum import Enum

    if isinstance(value, Enum):
        value = value.value
    return str(value) if value not in [None, {}, []] else value


# -- the per-call path: signing, S3's URL table, request ids ------------------------------------------------------

_NOT_SIGNED = "0" * 64  # the Signature of a call moto answers in-process: no one there checks it
_AWS_URL = re.compile(r"https?://.+\.amazonaws.com/.*")  # the botocore stubber answers any such URL itself


def _in_process_calls_signed_cheaply() -> None:
    """botocore signs every call with Signature Version 4 (a canonical request of the method, path, query, every
    header and a SHA-256 of the body, then five HMACs): 7% of the integration tests' CPU. A call moto answers
    in-process (its botocore stubber is on, registered on the client, and the URL is an AWS one it does not pass
    through) has no one to check the signature: moto reads the access key and region from the Authorization
    header's ``Credential=`` (the account, the region of S3 calls), S3 reads ``x-amz-content-sha256`` (streaming
    bodies), and local IAM authorizes by the principal a handler runs as (iam.py), never by the signature.

    Such a call is now signed as before in everything but the signature: the same signer is chosen (choose-signer
    and before-sign events, the same credentials), the same headers are set (X-Amz-Date, X-Amz-Security-Token,
    X-Amz-Content-SHA256 with the same payload hash) and the same Authorization header is made, ``Credential=``
    scope and ``SignedHeaders=`` included, with ``Signature=`` zeros instead of the HMAC. Only the header-signing
    SigV4 signers of botocore's clients take this path: a presigned URL or POST (query and POST signers), an
    execute-api call, any other signer and any call that leaves the process are signed as they were."""
    from botocore import auth
    from botocore.signers import RequestSigner

    original_sign = RequestSigner.sign
    if getattr(original_sign, "cheap_in_process", False):
        return
    original_add_auth = auth.SigV4Auth.add_auth
    header_signers = (auth.SigV4Auth, auth.S3SigV4Auth)
    unsigned_headers = frozenset(auth.SIGNED_HEADERS_BLACKLIST)

    def sign(signer: Any, operation_name: str, request: Any, *args: Any, **kwargs: Any) -> Any:
        standard = kwargs.get("signing_type", args[1] if len(args) > 1 else "standard") == "standard"
        if not standard or not _answered_in_process(signer, request):
            return original_sign(signer, operation_name, request, *args, **kwargs)
        previous = getattr(_local, "unsigned_request", None)
        _local.unsigned_request = request
        try:
            return original_sign(signer, operation_name, request, *args, **kwargs)
        finally:
            _local.unsigned_request = previous

    def add_auth(signer: Any, request: Any) -> None:
        if (
            type(signer) not in header_signers
            or not _left_unsigned(request)
            or signer.credentials is None
            or signer._service_name == "execute-api"
        ):
            return original_add_auth(signer, request)
        # SigV4Auth.add_auth without the canonical request, the string to sign and the HMACs.
        request.context["timestamp"] = auth.get_current_datetime().strftime(auth.SIGV4_TIMESTAMP)
        signer._modify_request_before_signing(request)
        names = {name.lower() for name in request.headers} - unsigned_headers
        names.add("host")
        request.headers["Authorization"] = (
            f"AWS4-HMAC-SHA256 Credential={signer.scope(request)}, "
            f"SignedHeaders={';'.join(sorted(names))}, Signature={_NOT_SIGNED}"
        )
        return None

    sign.cheap_in_process = True  # type: ignore[attr-defined]
    sign.original = original_sign  # type: ignore[attr-defined]
    add_auth.original = original_add_auth  # type: ignore[attr-defined]
    auth.SigV4Auth.add_auth = add_auth
    RequestSigner.sign = sign


def _left_unsigned(request: Any) -> bool:
    return getattr(_local, "unsigned_request", None) is request


def _answered_in_process(signer: Any, request: Any) -> bool:
    """Whether moto's botocore stubber will answer this request, as its ``process_request`` decides."""
    from moto.core.config import default_user_config, passthrough_service, passthrough_url
    from moto.core.models import botocore_stubber
    from moto.core.utils import get_equivalent_url_in_aws_domain

    if not botocore_stubber.enabled or not _stubbed(signer):
        return False
    parsed, _ = get_equivalent_url_in_aws_domain(request.url)
    clean_url = f"{parsed.scheme}://{parsed.netloc}{parsed.path}"
    if not _AWS_URL.match(clean_url) or passthrough_url(clean_url):
        return False
    if default_user_config.get("core", {}).get("passthrough", {}).get("services"):
        import moto.backend_index as backend_index

        for service, pattern in backend_index.backend_url_patterns:
            if pattern.match(clean_url):
                return not passthrough_service(service)
    return True


def _stubbed(signer: Any) -> bool:
    """Whether moto's stubber is among the client's before-send handlers (a client made before moto was imported
    has none: its calls leave the process, signed)."""
    from moto.core.models import botocore_stubber

    emitter = getattr(getattr(signer, "_event_emitter", None), "_emitter", None)
    handlers = getattr(emitter, "_handlers", None)
    if handlers is None or not hasattr(handlers, "prefix_search"):
        return False
    return botocore_stubber in handlers.prefix_search("before-send")


def _s3_urls_read_once() -> None:
    """moto's S3 backend reloads its ``urls`` module twice on every S3 call (for its URL bases, then its paths),
    in case ``MOTO_S3_CUSTOM_ENDPOINTS`` changed the bases: 0.35 ms a call. It is now reloaded when that variable
    differs from the last reload's (and on the first S3 call), and otherwise read as the last reload left it."""
    from moto.s3 import models as s3_models

    original: Any = s3_models.S3Backend.__dict__["_url_module"]  # the property
    if getattr(original.fget, "read_once", False):
        return
    last: list[tuple[str | None, Any]] = []
    lock = threading.Lock()

    def _url_module(backend: Any) -> Any:
        endpoints = os.environ.get("MOTO_S3_CUSTOM_ENDPOINTS")
        with lock:
            if not last or last[0][0] != endpoints:
                last[:] = [(endpoints, original.fget(backend))]
            return last[0][1]

    _url_module.read_once = True  # type: ignore[attr-defined]
    _url_module.original = original  # type: ignore[attr-defined]
    s3_models.S3Backend._url_module = property(_url_module)  # type: ignore[method-assign, assignment]


def _request_ids_put_only_where_asked() -> None:
    """moto puts the request id into every answer's body with a regex (``(?<=<RequestId>).*(?=</RequestId>)``)
    whose look-behind is tried at every character of the body: JSON answers, which have no such element, are
    scanned whole (1.5% of the tests' CPU). A body without ``<RequestId>`` is left as that substitution leaves it,
    unchanged; any other goes through moto's own."""
    from moto.core import responses

    original = responses.BaseResponse._enrich_response
    if getattr(original, "asked_only", False):
        return

    def _enrich_response(headers: dict[str, str], body: Any) -> tuple[dict[str, str], Any]:
        if type(body) is str and "<RequestId>" not in body:
            if "status" in headers:
                headers["status"] = str(headers["status"])
            responses.gen_amzn_requestid_long(headers)  # sets the request id headers, as moto's does
            return headers, body
        return original(headers, body)

    _enrich_response.asked_only = True  # type: ignore[attr-defined]
    _enrich_response.original = original  # type: ignore[attr-defined]
    responses.BaseResponse._enrich_response = staticmethod(_enrich_response)  # type: ignore[method-assign]
