"""The embedded local AWS runtime: the catalog's resources in moto, the real ASL, the real handlers.

``LocalRuntime`` starts moto's in-process AWS (or points this process at a ``backoffice serve`` server), creates the
bus, tables, buckets, topics, queues and state machines the catalog declares, registers the Lambda hook that calls
the real handlers, and routes events put on the bus to the workflows of matching rules. Nothing here simulates a
workflow: the Step Functions engine inside moto executes the ASL files after substitution.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import re
import sys
import tempfile
import threading
import time
import weakref
from collections.abc import Collection, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from backoffice.connectors.sandbox import SandboxStore
    from backoffice.local.iam import IamEnforcer, LocalArns, SynthesizedIam

from backoffice.local.polling import Pauses
from backoffice.operate.deployment import Operations
from backoffice.operate.deployment import paginate as _paginate
from infra.catalog import CATALOG, Catalog, Ref

ACCOUNT = "123456789012"
REGION = "us-east-1"
PREFIX = "backoffice"
# Delivery threads of the server's bus (EventBridge delivers after accepting; router.py).
ROUTER_WORKERS = 4
# Where the local runtime differs from a deployment's settings, and why: it has no network, so the sanctions list
# is the sample shipped in the package (read and stored by the same code as OFAC's).
LOCAL_SETTINGS: Mapping[str, str] = {"sanctions_sources": json.dumps({"source": "sample"})}
MOTO_CONFIG: Any = {"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}
_PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9_]+)\}")


class UnresolvedPlaceholder(KeyError):
    pass


def signing_key_alias(name: str) -> str:
    """The alias of a catalog signing key on the local runtime: ``alias/backoffice-audit-signing``."""
    return f"alias/{PREFIX}-{name.replace('_', '-')}"


def local_names(catalog: Catalog, region: str = REGION, endpoint_url: str | None = None) -> dict[Ref, str]:
    """The local name or ARN of every catalog resource (the CDK stack gives the AWS ones)."""
    # moto names a queue after the endpoint it was created through: the SQS host in-process, the server's otherwise.
    queue_base = endpoint_url.rstrip("/") if endpoint_url else f"https://sqs.{region}.amazonaws.com"
    names: dict[Ref, str] = {Ref("event_bus_name"): catalog.event_bus}
    for fn in catalog.functions:
        names[Ref("function_arn", fn.name)] = f"arn:aws:lambda:{region}:{ACCOUNT}:function:{PREFIX}-{fn.name}"
    for sm in catalog.state_machines:
        names[Ref("state_machine_arn", sm.name)] = (
            f"arn:aws:states:{region}:{ACCOUNT}:stateMachine:{PREFIX}-{sm.name}"
        )
    for t in catalog.tables:
        names[Ref("table_name", t.name)] = f"{PREFIX}-{t.name}"
    for b in catalog.buckets:
        names[Ref("bucket_name", b)] = f"{PREFIX}-{b.replace('_', '-')}-{ACCOUNT}"  # S3 names have no "_"
    for topic in catalog.topics:
        names[Ref("topic_arn", topic)] = f"arn:aws:sns:{region}:{ACCOUNT}:{PREFIX}-{topic}"
    for q in catalog.queues:
        names[Ref("queue_url", q)] = f"{queue_base}/{ACCOUNT}/{PREFIX}-{q}"
    # KMS key ids are random, so handlers reach a local signing key by its alias (KMS accepts an alias ARN as
    # KeyId); local IAM authorizes the call against the key the alias names, as AWS does (local/iam.py).
    for key in catalog.signing_keys:
        names[Ref("key_arn", key)] = f"arn:aws:kms:{region}:{ACCOUNT}:{signing_key_alias(key)}"
    # Roles only AWS services assume (Textract publishing its notices): nothing assumes them locally.
    for service_role in catalog.service_roles:
        names[Ref("role_arn", service_role.name)] = (
            f"arn:aws:iam::{ACCOUNT}:role/{PREFIX}-{service_role.name}"
        )
    return names


def substitute(definition: str, substitutions: Mapping[str, str]) -> str:
    """Fill ``${Key}`` placeholders as CloudFormation's DefinitionSubstitutions does; refuse any left unfilled."""

    def fill(match: re.Match[str]) -> str:
        key = match.group(1)
        if key not in substitutions:
            raise UnresolvedPlaceholder(f"placeholder ${{{key}}} has no value in the catalog")
        return substitutions[key]

    return _PLACEHOLDER.sub(fill, definition)


class _ScaledTime:
    """Stands in for the ``time`` module inside moto's Retry implementation, so retry back-off can be shortened."""

    def __init__(self, scale: float) -> None:
        self.scale = scale

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds * self.scale)

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)


def _snapshot_table_items() -> None:
    """moto's DynamoDB query and scan iterate a table's live item dicts; the engine runs a Map's iterations in
    threads, so a put of a new partition key in one (an audit record of a new case) could break a query in
    another with "dictionary changed size during iteration". Iterate over snapshots instead (DynamoDB itself
    serves concurrent readers and writers).

    The order is moto's (by hash key, then range key), computed from each key's value once per item: moto's sort
    compares key objects that convert their value on every comparison, and every query sorts the whole table
    (measured: half of a billing run's time in the sandbox table's queries). A table's key attributes have one
    type each, so comparing the values orders the items exactly as comparing the key objects does."""
    from moto.dynamodb.models import table as dynamodb_table

    if getattr(dynamodb_table.Table.all_items, "snapshots", False):
        return

    def order(item: Any) -> Any:
        if item.range_key:
            return item.hash_key.cast_value, item.range_key.cast_value
        return item.hash_key.cast_value

    def all_items(table: Any) -> list[Any]:
        items: list[Any] = []
        for hash_set in list(table.items.values()):
            if table.range_key_attr:
                items.extend(list(hash_set.values()))
            else:
                items.append(hash_set)
        return sorted(items, key=order)

    all_items.snapshots = True  # type: ignore[attr-defined]
    dynamodb_table.Table.all_items = all_items  # type: ignore[method-assign, assignment]


_write_lock = threading.RLock()


def _atomic_conditional_writes() -> None:
    """DynamoDB applies a conditional write atomically; moto checks the condition and then writes in two Python
    steps, so two threads could both pass the same condition (measured: 4 threads doing 1,200 version-guarded
    increments lost 17). One lock around moto's item writes, and the reads, restores the guarantees the product
    relies on (docs/concurrency.md)."""
    from moto.dynamodb import models as dynamodb_models
    from moto.dynamodb.responses import DynamoHandler

    backend = dynamodb_models.DynamoDBBackend
    if getattr(backend.put_item, "atomic", False):
        return
    # The response handler too: moto builds ``ReturnValues`` (UPDATED_NEW, ALL_OLD, ...) from the live item after
    # the backend write returns, so another thread's write could land in between and two ``ADD seq :one`` would
    # both answer the later number (measured: 2 of 4 runs of 8 x 100 sandbox ``next_sequence`` handed a number out
    # twice). DynamoDB answers from the write itself. The lock is reentrant: the handler holds it around the
    # backend call, which takes it again.
    # And the reads: DynamoDB isolates a transaction (a read sees all of its writes or none) and an item update (all
    # of its attributes or none); moto writes a transaction's items one by one, puts them back if a later one's
    # condition fails, and updates an item's attributes one by one, so an unlocked read could see a write that is
    # then undone (seen: a budget reservation read back as held while its transaction was being cancelled).
    reads = ("get_item", "batch_get_item", "query", "scan", "transact_get_items")
    for owner, names in (
        (backend, ("put_item", "update_item", "delete_item", "transact_write_items")),
        (DynamoHandler, ("put_item", "update_item", "delete_item", "transact_write_items", *reads)),
    ):
        for name in names:
            original = getattr(owner, name)

            def locked(self: Any, *args: Any, __original: Any = original, **kwargs: Any) -> Any:
                with _write_lock:
                    return __original(self, *args, **kwargs)

            locked.atomic = True  # type: ignore[attr-defined]
            setattr(owner, name, locked)
    _atomic_conditional_object_puts()


_object_put_lock = threading.Lock()


def _atomic_conditional_object_puts() -> None:
    """S3 applies ``If-Match`` / ``If-None-Match`` on a PutObject atomically; moto looks the object up, then
    writes, so two threads could both pass the same condition. One lock around moto's PutObject restores the
    guarantee the sanctions list's manifest (and the audit anchors' ``If-None-Match``) rely on. Its own lock, not
    the item writes': a stream delivery holding that one puts anchors, and a put never waits for a table."""
    from moto.s3.responses import S3Response

    original = S3Response.put_object
    if getattr(original, "atomic", False):
        return

    def locked(self: Any) -> Any:
        with _object_put_lock:
            return original(self)

    locked.atomic = True  # type: ignore[attr-defined]
    S3Response.put_object = locked  # type: ignore[method-assign]


@functools.cache
def _sample_sanctions_list() -> tuple[Any, Any]:
    """The packaged sample list's files and the list read strictly from them (``vendors/sanctions_lists.py``)."""
    from backoffice.vendors.sanctions_lists import PackagedSample, read_list_strictly

    fetched = PackagedSample().fetch()
    return fetched, read_list_strictly(fetched)


_parse_trees: dict[str, Any] = {}  # a definition's syntax tree
_programs: dict[str, Any] = {}  # and its evaluation components
_program_lock = threading.Lock()


def _reuse_asl_programs() -> None:
    """moto parses a definition with its ANTLR grammar on every create_state_machine and every execution (about
    a second for each of our definitions), then its preprocessor builds the evaluation components from the syntax
    tree (a few per cent of a workflow test's CPU): both are made once per definition text and process.

    The components are a read-only program, as moto itself relies on: a Map's iterations run its states' components
    concurrently, a loop runs them again. Everything an evaluation changes is kept in its Environment: state data,
    context object, variables, task tokens and callbacks, map runs and their records, retry counters and backoff
    (in the environment's heap, under a key each retry component draws once, lazily: drawn here for all of them
    before the program is shared, so that two executions' first retries never draw two keys for one component).
    Workers, job pools, timeouts and heartbeats are made per evaluation; literals (a Pass state's Result) are copied
    where a state's data takes them. moto's preprocessor keeps its query-language scopes in a list on its class,
    not its instance: programs are built one at a time (as a program is built once, the lock is rarely waited on).
    A definition moto refuses (a syntax error, or its preprocessor's error) is refused every time, as before.

    The components of a definition moto accepted are kept on disk too (``program_store``), for the next process:
    read back, they come without their syntax tree (None). Of moto's callers of this parser only its static analysers
    read the tree (DescribeStateMachine's variable references): they are given it parsed when first asked
    (``syntax_tree`` below); the execution worker and the definition's validation take the components or nothing
    (tests/integration/test_asl_program_reuse.py keeps that list)."""
    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser
    from moto.stepfunctions.parser.asl.static_analyser.static_analyser import StaticAnalyser

    from backoffice.local.program_store import open_store, store_program, stored_program

    if getattr(AmazonStateLanguageParser.parse, "reuses_programs", False):
        return
    open_store()
    original = AmazonStateLanguageParser.parse

    def parse(definition: str) -> tuple[Any, Any]:
        program = _programs.get(definition)
        if program is None:
            with _program_lock:  # parsing holds the GIL throughout: one at a time costs no time
                program = _programs.get(definition)
                if program is None:
                    program = stored_program(definition)
                    if program is None:
                        # Raises ASLParserException on a syntax error (or moto's preprocessing error), as before.
                        program, _parse_trees[definition] = original(definition)
                        _draw_heap_keys(program)
                        store_program(definition, program)
                    _programs[definition] = program
        return program, _parse_trees.get(definition)

    def syntax_tree(definition: str) -> Any:
        tree = _parse_trees.get(definition)
        if tree is None:
            with _program_lock:
                tree = _parse_trees.get(definition)
                if tree is None:
                    tree = _parse_trees[definition] = original(definition)[1]
        return tree

    def analyse(self: Any, definition: str) -> None:
        self.visit(syntax_tree(definition))

    parse.reuses_programs = True  # type: ignore[attr-defined]
    parse.original = original  # type: ignore[attr-defined]
    AmazonStateLanguageParser.parse = staticmethod(parse)  # type: ignore[method-assign]
    StaticAnalyser.analyse = analyse  # type: ignore[method-assign]


def _draw_heap_keys(program: Any) -> None:
    """Draw the heap key of each of a program's evaluation components (moto draws one when first asked)."""
    from moto.stepfunctions.parser.asl.component.eval_component import EvalComponent

    seen: set[int] = set()
    pending: list[Any] = [program]
    while pending:
        value = pending.pop()
        if id(value) in seen:
            continue
        seen.add(id(value))
        if isinstance(value, dict):
            pending.extend(value.values())
        elif isinstance(value, (list, tuple, set, frozenset)):
            pending.extend(value)
        elif hasattr(value, "__dict__") and type(value).__module__.startswith(
            "moto.stepfunctions.parser.asl"
        ):
            if isinstance(value, EvalComponent):
                value.heap_key  # noqa: B018 - drawn now, never lazily by two threads at once
            pending.extend(vars(value).values())


_cache_lock = threading.Lock()  # the process-wide caches below
_synthesized_iam: dict[tuple[object, ...], Any] = {}  # the roles of the last template read (see _enforce_iam)
_valid_definitions: set[str] = set()


def _validate_each_definition_once() -> None:
    """moto validates a definition on every create_state_machine by building its evaluation components (about
    0.4 s for each of ours, on every runtime start). Validation depends on the definition text alone: a text that
    passed once passes again, so it is validated once per process; a new or changed text is validated as before
    (and refused with moto's own InvalidDefinition)."""
    from moto.stepfunctions.parser.models import StepFunctionsParserBackend

    if getattr(StepFunctionsParserBackend._validate_definition, "once", False):
        return
    original = StepFunctionsParserBackend._validate_definition

    def validate(definition: str) -> None:
        if definition in _valid_definitions:
            return
        original(definition=definition)
        with _cache_lock:
            _valid_definitions.add(definition)

    validate.once = True  # type: ignore[attr-defined]
    StepFunctionsParserBackend._validate_definition = staticmethod(validate)  # type: ignore[method-assign]


_engine_clients: weakref.WeakKeyDictionary[Any, dict[tuple[str, str, str], Any]] = weakref.WeakKeyDictionary()


def _reuse_engine_clients() -> None:
    """moto's engine builds a new boto3 client for every Lambda task it runs (about 0.1 s each, several per case).
    The client it builds depends only on boto3's default session (whose event hooks carry the runtime's Lambda
    dispatch), the region, the service and whether moto intercepts calls in-process, or else its server's port
    (fixed keys, fixed config; moto ignores the state's credentials): one is kept per session and such triple
    (boto3 clients are thread-safe), so a runtime never calls through another runtime's session. Calls still go
    through moto and through local IAM (which authorizes by the principal a task runs as, not by the client)."""
    import boto3
    from moto.core.models import botocore_stubber
    from moto.settings import moto_server_port
    from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils

    if getattr(lambda_eval_utils.boto_client_for, "reuses_clients", False):
        return
    original = lambda_eval_utils.boto_client_for

    def boto_client_for(region: str, service: str, state_credentials: Any = None) -> Any:
        session = boto3.DEFAULT_SESSION
        if session is None:
            return original(region=region, service=service, state_credentials=state_credentials)
        key = (region, service, "in-process" if botocore_stubber.enabled else moto_server_port())
        with _cache_lock:
            client = _engine_clients.setdefault(session, {}).get(key)
        if client is None:
            client = original(region=region, service=service, state_credentials=state_credentials)
            with _cache_lock:
                client = _engine_clients[session].setdefault(key, client)
        return client

    boto_client_for.reuses_clients = True  # type: ignore[attr-defined]
    lambda_eval_utils.boto_client_for = boto_client_for


_data_loader: Any = None


def _share_service_models() -> None:
    """Each runtime gets a new default boto3 session (moto's mock resets it, the Lambda hook is registered on a
    new one), whose loader would read and decode every service's model and endpoint rules from JSON again (about
    0.2 s for each client, a dozen clients per runtime). So would every other new session: Powertools' idempotency
    layer makes one for its DynamoDB client when a handler module is imported, once per handler and runtime (a
    profile of the whole test suite found 11% of its CPU decoding DynamoDB's model that way). The models are
    read-only data: each new session keeps its own credentials, settings and event hooks and reuses one loader
    (a session configured with its own ``data_path`` keeps its own loader)."""
    import boto3
    from botocore import session as botocore_session
    from botocore.loaders import create_loader

    global _data_loader
    session = boto3.DEFAULT_SESSION
    with _cache_lock:
        if _data_loader is None and session is not None:
            _data_loader = session._session.get_component("data_loader")
        elif session is not None:
            session._session.register_component("data_loader", _data_loader)
            session._loader = _data_loader
    if getattr(botocore_session.Session._register_data_loader, "shared", False):
        return

    def _register_data_loader(self: Any) -> None:
        def loader() -> Any:
            global _data_loader
            data_path = self.get_config_variable("data_path")
            if data_path:
                return create_loader(data_path)
            with _cache_lock:
                if _data_loader is None:
                    _data_loader = create_loader(None)
                return _data_loader

        self._components.lazy_register_component("data_loader", loader)

    _register_data_loader.shared = True  # type: ignore[attr-defined]
    botocore_session.Session._register_data_loader = _register_data_loader


class LocalRuntime(Operations):
    """Use as a context manager; ``endpoint_url`` set means: talk to a ``backoffice serve`` server instead of moto
    in-process. The server process itself runs its runtime with ``serving=True``: moto in-process for its own
    handlers and engine (no HTTP round trip for each of their calls), its HTTP server at ``endpoint_url`` for the
    CLI, tests and a browser, both over the same moto backends."""

    def __init__(
        self,
        catalog: Catalog = CATALOG,
        *,
        retry_time_scale: float = 1.0,
        endpoint_url: str | None = None,
        api_port: int | None = 0,
        api_url: str | None = None,
        outbox_dir: Path | None = None,
        seed_sample_firm: bool = True,
        iam: SynthesizedIam | None = None,
        serving: bool = False,
    ) -> None:
        """``api_port``: where the local API gateway listens (0 = any free port, None = no gateway, as for a CLI
        that talks to a running server, whose gateway is at ``api_url``). ``outbox_dir``: where e-mails sent
        through SES are written as .eml files (a fresh temporary folder when not given). ``iam``: the roles the
        handlers run under (default: the synthesized template's; see local/iam.py)."""
        # moto, botocore and the handlers' packages load when a runtime is made, not when this module is imported
        # (the ``backoffice`` command's help names the commands without loading them).
        from backoffice.local.gateway import LocalGateway
        from backoffice.local.lambdas import LocalLambdas
        from backoffice.local.mail_simulator import MailboxSimulator
        from backoffice.local.router import EventRouter
        from backoffice.local.streams import StreamDelivery
        from backoffice.local.topics import TopicDelivery

        self.catalog = catalog
        self.seed_sample_firm = seed_sample_firm
        self.retry_time_scale = retry_time_scale
        self.endpoint_url = endpoint_url
        self.serving = serving
        self.in_process = endpoint_url is None or serving
        self.outbox_dir = outbox_dir or Path(tempfile.mkdtemp(prefix="backoffice-outbox-"))
        self.names = local_names(catalog, endpoint_url=None if self.in_process else endpoint_url)
        self.lambdas = LocalLambdas(
            catalog, {fn.name: self.names[Ref("function_arn", fn.name)] for fn in catalog.functions}
        )
        self.router = EventRouter(
            catalog,
            {sm.name: self.names[Ref("state_machine_arn", sm.name)] for sm in catalog.state_machines},
            deliver=self.lambdas.invoke,
            park=self.park,
            # The server accepts events as EventBridge does, delivering after (router.py); in-process, at once.
            workers=ROUTER_WORKERS if serving else 0,
        )
        # The audit table's stream to the anchor function (Lambda's event source mapping in AWS).
        # One lock for moto's item writes and the stream deliveries they make (synchronously, inside the write):
        # with two, a write delivering its record and a drain() or stream_off() that writes, on two threads, could
        # each hold one and wait for the other.
        self.streams = StreamDelivery(catalog, self.names, self.lambdas.invoke, lock=_write_lock)
        # The catalog's topic subscriptions (mail_events -> handle_mail_event), and SES's configuration sets and
        # mailbox simulator, which moto lacks (local/topics.py, local/mail_simulator.py).
        self.topics = TopicDelivery(catalog, self.names, self.lambdas.invoke, self.park)
        self.mail_simulator = MailboxSimulator()
        self.gateway = (
            LocalGateway(
                catalog,
                self.lambdas.invoke,
                port=api_port,
                iam=lambda: self.iam_enforcer,
                logs=lambda: self.client("logs"),
            )
            if api_port is not None
            else None
        )
        self.api_url = self.gateway.url if self.gateway else (api_url or "http://127.0.0.1:4567")
        self.names[Ref("api_url")] = self.api_url
        self.bus_events: list[dict[str, Any]] = []  # every event accepted on the product's bus, in order
        self._mock: Any = None
        self._saved_env: dict[str, str | None] = {}
        self._saved_put_events: Any = None
        self._saved_send_raw_email: Any = None
        self._saved_retry_time: Any = None
        self._lock = threading.Lock()
        self._iam = iam
        self.iam_enforcer: IamEnforcer | None = None
        self._started_empty = False  # moto held no backends when this runtime started it (see start)
        self.resources_restored = False  # whether start restored an earlier runtime's resources (see below)

    # -- lifecycle ------------------------------------------------------------------------------------------------

    def __enter__(self) -> LocalRuntime:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self, *, create_resources: bool = True) -> None:
        from backoffice import aws

        self._set_env(self.environment())
        aws.reset_clients()
        if self.in_process:
            from moto import mock_aws  # a command talking to a server has no use for it (0.2 s of its start)

            self._mock = mock_aws(config=MOTO_CONFIG)
            # A server's HTTP side already shares moto's backends: they are not reset under it.
            self._mock.start(reset=not self.serving)
            # Only what this start's calls make may be kept for the next runtimes: not another runtime's or an outer
            # mock_aws's state (moto does not reset under a mock already started).
            from moto.core.base_backend import BackendDict

            self._started_empty = not self.serving and not BackendDict._instances  # type: ignore[misc]
            self.install_hooks()
        self.resources_restored = create_resources and self._restore_resources()
        if create_resources and not self.resources_restored:
            self.create_resources()
            self._keep_resources()

    def install_hooks(self) -> None:
        """Lambda calls, event routing and retry time scale: in this process (in-process mode or the server's)."""
        from moto.events import models as events_models
        from moto.ses import models as ses_models
        from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl

        from backoffice.local import distributed_map, moto_speedups
        from backoffice.local.limits import enforce_limits

        self.lambdas.install()  # a new default boto3 session, with the Lambda hook on it
        _share_service_models()
        self.streams.install()
        self._saved_put_events = events_models.EventsBackend.put_events
        runtime = self
        original = self._saved_put_events

        def put_events(backend: Any, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
            entries: list[dict[str, Any]] = original(backend, events)
            runtime._route_accepted(backend, events, entries)
            return entries

        events_models.EventsBackend.put_events = put_events  # type: ignore[method-assign, assignment]
        self._saved_retry_time = retrier_decl.time
        retrier_decl.time = _ScaledTime(self.retry_time_scale)  # type: ignore[assignment]

        self._saved_send_raw_email = ses_models.SESBackend.send_raw_email
        send_raw = self._saved_send_raw_email

        def send_raw_email(backend: Any, source: str, destinations: list[str], raw_data: str) -> Any:
            message = send_raw(backend, source, destinations, raw_data)
            runtime._to_outbox(destinations, raw_data)
            return message

        ses_models.SESBackend.send_raw_email = send_raw_email  # type: ignore[method-assign, assignment]
        self.topics.install()
        self.mail_simulator.install()
        _reuse_asl_programs()
        _validate_each_definition_once()
        _reuse_engine_clients()
        _snapshot_table_items()
        _atomic_conditional_writes()
        moto_speedups.install()  # queries read their partition, transactions back up their items
        distributed_map.install()  # what moto's Distributed Map lacks (local/distributed_map.py)
        self._limits = enforce_limits()  # AWS's size limits moto lacks (local/limits.py)
        self._enforce_iam()
        if self.gateway is not None:
            self.gateway.start()

    def local_arns(self) -> LocalArns:
        from backoffice.local.iam import LocalArns

        return LocalArns(REGION, ACCOUNT, self.names, PREFIX)

    def _enforce_iam(self) -> None:
        """Each handler's calls run under its synthesized role, unless BACKOFFICE_LOCAL_IAM=off says otherwise."""
        from backoffice.local.iam import IAM_SETTING, IamEnforcer, SynthesizedIam, iam_enforced

        if self._iam is None and not iam_enforced():
            print(
                f"local runtime: IAM is NOT enforced ({IAM_SETTING}={os.environ.get(IAM_SETTING)}): calls AWS would "
                "refuse will pass here",
                file=sys.stderr,
            )
            return
        if self._iam is None:
            from backoffice.local.template import synthesized_template

            template = synthesized_template()
            # The roles read from one template for one set of resource names are the same for every runtime made
            # from them (each test makes one): read once per process. The API's URL (a free port per runtime) is
            # no resource of any policy.
            names = sorted((str(r), n) for r, n in self.names.items() if r.kind != "api_url")
            key = (id(template), id(self.catalog), tuple(names))
            with _cache_lock:
                cached = _synthesized_iam.get(key)
            if cached is None:
                cached = SynthesizedIam.from_template(template, self.catalog, self.local_arns())
                with _cache_lock:
                    _synthesized_iam.clear()  # one template at a time: a new synth replaces the old roles
                    _synthesized_iam[key] = cached
            self._iam = cached
        self.iam_enforcer = IamEnforcer(self._iam, REGION, ACCOUNT, secret_arn=_local_secret_arn)
        self.iam_enforcer.install()

    def stop(self) -> None:
        from backoffice import aws

        self.router.stop()  # the delivery threads of a server's bus finish what they took
        if self.in_process and self._saved_put_events is not None:
            self._stop_executions()
        if self._saved_put_events is not None:
            from moto.events import models as events_models
            from moto.ses import models as ses_models
            from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl

            self._limits.undo()  # first: its put_events wraps the router's
            events_models.EventsBackend.put_events = self._saved_put_events  # type: ignore[method-assign]
            retrier_decl.time = self._saved_retry_time
            ses_models.SESBackend.send_raw_email = self._saved_send_raw_email  # type: ignore[method-assign]
            self.mail_simulator.uninstall()
            self.topics.uninstall()
            self.lambdas.uninstall()
            self.streams.uninstall()
            if self.iam_enforcer is not None:
                self.iam_enforcer.uninstall()
            self._saved_put_events = None
            if self.gateway is not None:
                self.gateway.stop()
        if self._mock is not None:
            self._stop_waiting_executions()
            self._mock.stop()
            self._mock = None
        aws.reset_clients()
        for key, value in self._saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        self._saved_env = {}

    def _stop_waiting_executions(self) -> None:
        """Executions still running (waiting for a person, or in a retry back-off) end with the runtime."""
        sfn = self.client("stepfunctions")
        for execution in self.executions():
            if execution.status == "RUNNING":
                with contextlib.suppress(Exception):
                    sfn.stop_execution(executionArn=execution.arn, cause="the local runtime stopped")
        # moto's engine does not wake a task that waits for a token when its execution is stopped; such worker
        # threads are daemons and end with the process, so there is nothing to wait for here.

    def environment(self) -> dict[str, str]:
        """The process environment the handlers see: every catalog function's variables, resolved locally."""
        env = {
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
            "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local",
            "AWS_SESSION_TOKEN": "local",
            "POWERTOOLS_SERVICE_NAME": "backoffice",
            "POWERTOOLS_METRICS_NAMESPACE": "Backoffice",
            "POWERTOOLS_TRACE_DISABLED": "true",
            # CloudWatch's embedded metric format is stdout lines: nothing reads them locally.
            "POWERTOOLS_METRICS_DISABLED": "true",
            "POWERTOOLS_LOG_LEVEL": os.environ.get("POWERTOOLS_LOG_LEVEL", "WARNING"),
            "POWERTOOLS_DEV": "false",
        }
        if not self.in_process:
            env["AWS_ENDPOINT_URL"] = str(self.endpoint_url)
        for fn in self.catalog.functions:
            for key, value in fn.environment.items():
                resolved = self.resolve(value) if isinstance(value, Ref) else value
                if env.get(key, resolved) != resolved:
                    raise ValueError(f"environment variable {key} has two values across catalog functions")
                env[key] = resolved
        return env

    def _set_env(self, env: Mapping[str, str]) -> None:
        for key, value in env.items():
            self._saved_env.setdefault(key, os.environ.get(key))
            os.environ[key] = value

    def resolve(self, ref: Ref) -> str:
        if ref.kind == "setting":
            return LOCAL_SETTINGS.get(ref.name) or self.catalog.settings[ref.name]
        return self.names[ref]

    # -- resources ------------------------------------------------------------------------------------------------

    def client(self, service: str, config: Any = None) -> Any:
        from backoffice import aws

        if config is not None:
            import boto3

            return boto3.client(service, config=config)
        return aws.client(service)

    # A second and later in-process runtime of a process restores the first's resources instead of creating them:
    # the calls of create_resources were a fifth of an integration module's CPU (each test starts a runtime), a
    # restore is a deep copy of moto's backends (resource_snapshot.py; figures in docs/benchmarks.md, session 13).
    # Only for the same inputs: everything create_resources reads, compared whole. The API's URL (a free port per
    # runtime) is no input unless a definition names it, and then the definitions differ.

    def _resources_inputs(self) -> tuple[object, ...] | None:
        """What create_resources reads; None: this runtime's resources are not kept or restored (a server's, one
        that talks to a server: their moto is shared with clients that made other state)."""
        if self.serving or not self.in_process:
            return None
        from backoffice.local.samples import LOCAL_CONNECTORS, LOCAL_WEBHOOK_SECRET, sample_firm_records
        from infra.firm_document import document_text

        return (
            self.catalog,
            sorted((str(ref), name) for ref, name in self.names.items() if ref.kind != "api_url"),
            self._definitions(),
            dict(LOCAL_SETTINGS),
            _sample_sanctions_list()[0] if "sanctions_lists" in self.catalog.buckets else None,
            json.dumps(LOCAL_CONNECTORS, sort_keys=True),
            LOCAL_WEBHOOK_SECRET,
            document_text(None) if "firm_config_parameter" in self.catalog.settings else None,
            sample_firm_records()[0] if self.seed_sample_firm else None,
            json.dumps(MOTO_CONFIG, sort_keys=True),
        )

    def _restore_resources(self) -> bool:
        from backoffice.local import resource_snapshot

        if not resource_snapshot.any_kept():
            return False
        inputs = self._resources_inputs()
        return inputs is not None and resource_snapshot.restore(inputs)

    def _keep_resources(self) -> None:
        """After create_resources: keep moto's state for the next runtimes, unless creating it ran handlers (a
        stream record delivered, an event routed): a restore would not run them again."""
        from backoffice.local import resource_snapshot

        inputs = self._resources_inputs()
        if inputs is None or not self._started_empty or self.lambdas.invocations or self.bus_events:
            return
        resource_snapshot.take(inputs)

    def _definitions(self) -> dict[str, str]:
        """Each state machine's definition as created: its ASL with the catalog's substitutions filled."""
        return {
            sm.name: substitute(
                sm.definition(), {key: self.resolve(ref) for key, ref in sm.substitutions.items()}
            )
            for sm in self.catalog.state_machines
        }

    def create_resources(self) -> None:
        from backoffice.local.samples import LOCAL_CONNECTORS, LOCAL_WEBHOOK_SECRET, seed_sample_firm

        c = self.catalog
        events = self.client("events")
        events.create_event_bus(Name=c.event_bus)
        for rule in c.rules:
            # Rules are created for inspection (list_rules); delivery is the router's job (see router.py).
            events.put_rule(
                Name=f"{PREFIX}-{rule.name}",
                EventBusName=c.event_bus,
                EventPattern=json.dumps(rule.pattern),
                Description=rule.description,
            )
        self._create_tables()
        self._create_buckets()
        self._store_sample_sanctions_list()
        kms = self.client("kms")
        for signing in c.signing_keys:
            key_id = kms.create_key(
                KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC", Description=f"local {signing}"
            )["KeyMetadata"]["KeyId"]
            kms.create_alias(AliasName=signing_key_alias(signing), TargetKeyId=key_id)
        ses = self.client("ses")
        for key in ("approvals_sender",):
            if key in c.settings:
                ses.verify_email_identity(EmailAddress=c.settings[key])
        sns = self.client("sns")
        for topic in c.topics:
            sns.create_topic(Name=f"{PREFIX}-{topic}")
        if "mail_configuration_set" in c.settings and "mail_events" in c.topics:
            # As infra/mail.py: every mail's bounces, complaints and delays go to the mail_events topic.
            name = c.settings["mail_configuration_set"]
            ses.create_configuration_set(ConfigurationSet={"Name": name})
            ses.create_configuration_set_event_destination(
                ConfigurationSetName=name,
                EventDestination={
                    "Name": "mail-events",
                    "Enabled": True,
                    "MatchingEventTypes": ["bounce", "complaint", "deliveryDelay"],
                    "SNSDestination": {"TopicARN": self.names[Ref("topic_arn", "mail_events")]},
                },
            )
        sqs = self.client("sqs")
        for q in c.queues:
            url = sqs.create_queue(QueueName=f"{PREFIX}-{q}")["QueueUrl"]
            if url != self.names[Ref("queue_url", q)]:
                raise RuntimeError(f"queue {q} was created at {url}, not where handlers look for it")
        sfn = self.client("stepfunctions")
        definitions = self._definitions()
        for sm in c.state_machines:
            sfn.create_state_machine(
                name=f"{PREFIX}-{sm.name}",
                definition=definitions[sm.name],
                roleArn=f"arn:aws:iam::{ACCOUNT}:role/{PREFIX}-{sm.name}",
                type="STANDARD",
            )
        if "connectors_config_parameter" in c.settings:
            self.client("ssm").put_parameter(
                Name=c.settings["connectors_config_parameter"],
                Value=json.dumps(LOCAL_CONNECTORS),
                Type="String",
                Overwrite=True,
            )
            self.client("secretsmanager").create_secret(
                Name="backoffice/webhooks/crm", SecretString=LOCAL_WEBHOOK_SECRET
            )
        if "firm_config_parameter" in c.settings:
            from infra.firm_document import document_text

            # The sample firm's configuration, stored as the stack stores a firm's.
            self.client("ssm").put_parameter(
                Name=c.settings["firm_config_parameter"],
                Value=document_text(None),
                Type="String",
                Overwrite=True,
            )
        if self.seed_sample_firm:
            seed_sample_firm(self.sandbox())

    def _create_tables(self) -> None:
        c = self.catalog
        dynamodb = self.client("dynamodb")
        for t in c.tables:
            keys = [{"AttributeName": t.partition_key, "KeyType": "HASH"}]
            attributes = [{"AttributeName": t.partition_key, "AttributeType": "S"}]
            if t.sort_key:
                keys.append({"AttributeName": t.sort_key, "KeyType": "RANGE"})
                attributes.append({"AttributeName": t.sort_key, "AttributeType": t.sort_key_type})
            name = self.names[Ref("table_name", t.name)]
            stream = {"StreamEnabled": True, "StreamViewType": t.stream_view} if t.stream_view else None
            dynamodb.create_table(
                TableName=name,
                KeySchema=keys,
                AttributeDefinitions=attributes,
                BillingMode="PAY_PER_REQUEST",
                **({"StreamSpecification": stream} if stream else {}),
            )
            if t.ttl_attribute:
                dynamodb.update_time_to_live(
                    TableName=name,
                    TimeToLiveSpecification={"Enabled": True, "AttributeName": t.ttl_attribute},
                )

    def _create_buckets(self) -> None:
        c = self.catalog
        s3 = self.client("s3")
        for b in c.buckets:
            locked = b in c.object_lock
            s3.create_bucket(Bucket=self.names[Ref("bucket_name", b)], ObjectLockEnabledForBucket=locked)
            s3.put_bucket_versioning(
                Bucket=self.names[Ref("bucket_name", b)], VersioningConfiguration={"Status": "Enabled"}
            )
            if locked:
                days = int(c.settings[c.object_lock[b]])
                s3.put_object_lock_configuration(
                    Bucket=self.names[Ref("bucket_name", b)],
                    ObjectLockConfiguration={
                        "ObjectLockEnabled": "Enabled",
                        "Rule": {"DefaultRetention": {"Mode": "COMPLIANCE", "Days": days}},
                    },
                )

    def _store_sample_sanctions_list(self) -> None:
        """The sample list, read and stored by the refresh's own code as the daily refresh stores OFAC's in AWS, so
        the screen reads it through the same path (``vendors/steps.py``). Read once per process: every runtime
        stores the same files in its fresh bucket."""
        if "sanctions_lists" not in self.catalog.buckets:
            return
        from backoffice.vendors.sanctions_lists import SanctionsListStore, new_manifest

        fetched, listed = _sample_sanctions_list()
        store = SanctionsListStore(self.client("s3"), self.names[Ref("bucket_name", "sanctions_lists")])
        store.put_manifest(new_manifest(fetched, listed, store.store_files(fetched), datetime.now(UTC)), None)

    def sandbox(self) -> SandboxStore:
        from backoffice.connectors.sandbox import SandboxStore

        return SandboxStore(self.resolve(Ref("table_name", "sandbox")), self.client("dynamodb"))

    # -- events ---------------------------------------------------------------------------------------------------

    def _route_accepted(
        self, backend: Any, sent: list[dict[str, Any]], entries: list[dict[str, Any]]
    ) -> None:
        for request, entry in zip(sent, entries, strict=False):
            if "EventId" not in entry:
                continue
            bus = str(request.get("EventBusName") or "default").rsplit("/", 1)[-1]
            if bus != self.catalog.event_bus:
                continue
            event = {
                "version": "0",
                "id": entry["EventId"],
                "detail-type": request["DetailType"],
                "source": request["Source"],
                "account": backend.account_id,
                "time": _event_time(request.get("Time")),
                "region": backend.region_name,
                "resources": list(request.get("Resources") or []),
                "detail": json.loads(request["Detail"]),
            }
            with self._lock:
                self.bus_events.append(event)
            self.router.accept(event)

    def put_event(self, detail_type: str, detail: Mapping[str, Any], source: str = "backoffice.local") -> str:
        """Put one event on the product's bus, as a SaaS system would; returns its event id."""
        from backoffice.local.limits import as_aws_delivery

        with as_aws_delivery():  # a partner's relay (aws.partner/...) arrives as AWS delivers it, not refused
            return super().put_event(detail_type, detail, source)

    def _to_outbox(self, destinations: list[str], raw_data: str | bytes) -> None:
        """Write a sent e-mail where a person can open it (one .eml file per recipient)."""
        data = raw_data.encode() if isinstance(raw_data, str) else raw_data
        self.outbox_dir.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
        for to in destinations:
            safe = re.sub(r"[^A-Za-z0-9@._-]", "_", to)
            (self.outbox_dir / f"{stamp}-{safe}.eml").write_bytes(data)

    def outbox(self) -> list[Path]:
        """The e-mails sent so far, oldest first."""
        return sorted(self.outbox_dir.glob("*.eml")) if self.outbox_dir.exists() else []

    def park(self, message: dict[str, Any]) -> None:
        """Send a message to the parked-events queue (the local dead-letter queue)."""
        self.client("sqs").send_message(
            QueueUrl=self.resolve(Ref("queue_url", "parked_events")),
            MessageBody=json.dumps(message, default=str),
            MessageAttributes={
                "reason": {"DataType": "String", "StringValue": str(message.get("reason", ""))}
            },
        )

    # -- executions -----------------------------------------------------------------------------------------------

    def _stop_executions(self) -> None:
        _stopped_quietly(self)

    def wait_until_idle(
        self, timeout: float = 60, *, raise_on_timeout: bool = True, workflows: Collection[str] | None = None
    ) -> None:
        """Block until every accepted event is delivered and no execution is running (executions run on moto's
        worker threads); ``workflows``: only those workflows' executions count (another may wait for a person
        for as long as it likes)."""
        deadline = time.monotonic() + timeout
        if not self.router.wait_delivered(timeout) and raise_on_timeout:
            raise TimeoutError("events accepted on the bus are still waiting for delivery")
        sfn = self.client("stepfunctions")
        pause = Pauses()
        machines = [sm for sm in self.catalog.state_machines if workflows is None or sm.name in workflows]
        while True:
            running = [
                e
                for sm in machines
                for e in _paginate(
                    sfn,
                    "list_executions",
                    "executions",
                    stateMachineArn=self.state_machine_arn(sm.name),
                    statusFilter="RUNNING",
                )
            ]
            if not running:
                return
            if time.monotonic() > deadline:
                if raise_on_timeout:
                    raise TimeoutError(
                        f"{len(running)} executions still running: {[e['name'] for e in running]}"
                    )
                return
            pause()


def _stopped_quietly(runtime: LocalRuntime) -> None:
    """Executions still running when a runtime stops (one waiting for a person, one its last event started) are
    stopped, and the handlers they are in finish, before moto's state is reset under them: else their engine
    threads run on into the next runtime of the process (a test's), reading tables it does not have."""
    sfn = runtime.client("stepfunctions")
    for machine in runtime.catalog.state_machines:
        with contextlib.suppress(Exception):
            for execution in _paginate(
                sfn,
                "list_executions",
                "executions",
                stateMachineArn=runtime.state_machine_arn(machine.name),
                statusFilter="RUNNING",
            ):
                with contextlib.suppress(Exception):
                    sfn.stop_execution(
                        executionArn=execution["executionArn"], cause="the local runtime stopped"
                    )
    runtime.lambdas.wait_quiet(timeout=10)


def _local_secret_arn(name: str) -> str | None:
    """The ARN moto gave a secret (with Secrets Manager's random suffix), read from moto's own store."""
    from moto.secretsmanager.models import secretsmanager_backends

    secrets = secretsmanager_backends[ACCOUNT][REGION].secrets
    secret = secrets.get(name) if hasattr(secrets, "get") else None
    return str(secret.arn) if secret is not None else None


def _event_time(value: Any) -> str:
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(value, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, str) and value:
        return value
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
