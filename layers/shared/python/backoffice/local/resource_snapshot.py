"""The state a runtime's ``create_resources`` left in moto, kept once per process and restored on later starts.

Every integration test starts a runtime, and each start made the same fifty-odd AWS calls through botocore and
moto (the bus and its rules, the tables, the buckets and the sample sanctions list, the signing keys, SES, the
topics, the queues, the state machines, the parameters, the secret, the seeded sandbox table): a fifth of the CPU
of an integration module (py-spy). Instead, after the first start's calls, every moto backend is deep-copied
(the *pristine* copy, which no runtime uses), and a later start of a runtime with the same inputs puts a fresh
deep copy of it in moto's backends in place of the calls. Each runtime gets its own objects: what a test writes in
one never reaches the pristine copy or another runtime.

What a plain ``copy.deepcopy`` of moto's backends would get wrong, and how it is handled here:

- locks: ``threading.Lock``/``RLock`` cannot be copied, and a copied ``Condition`` (an SQS queue's) would keep
  the original lock's bound methods; each copy gets new ones (nothing holds them when the copy is made);
- moto tracks every model instance it makes (``instances_tracked``) and, when it resets S3, closes the buffer of
  every tracked S3 object: the pristine copy's objects are taken out of that tracking (the restored copies stay
  in it, and are reset with the runtime as created ones are);
- S3 keeps which account owns each bucket name outside the backends (``s3_backends.bucket_accounts``): it is
  filled again for the restored buckets;
- backends are only restored into an empty moto (right after its reset), so nothing made at start is replaced.

A restored runtime's resources carry the first start's creation times (as resources created before a test would).
"""

from __future__ import annotations

import atexit
import contextlib
import copy
import threading
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

_lock = threading.Lock()
_KEPT = 4  # pristine copies kept, the latest taken first (a module's tests may start runtimes of a few kinds)
_pristine: list[_Pristine] = []


class _Pristine:
    def __init__(
        self, key: Any, registries: list[Any], backends: dict[tuple[Any, str, str], Any], objects: list[Any]
    ) -> None:
        self.key = key
        self.registries = registries  # moto's BackendDicts the backends came from (one per service)
        self.backends = backends  # (BackendDict, account, region) -> the backend's pristine copy
        # Its S3 objects, whose buffers are closed when it is dropped (as moto's reset closes a runtime's).
        self.objects = objects

    def dispose(self) -> None:
        for s3_object in self.objects:
            s3_object.dispose()


def take(key: Any) -> bool:
    """Keep a pristine copy of every moto backend, for later runtimes whose inputs equal ``key``. Returns whether
    it was kept (a backend that cannot be copied faithfully leaves the next starts making their calls)."""
    from moto.core.base_backend import AccountSpecificBackend, BackendDict
    from moto.core.model_instances import model_data
    from moto.s3.models import FakeKey

    registries = list(BackendDict._instances)  # type: ignore[misc]
    live = {
        (registry, account, region): backend
        for registry in registries
        for account, region, backend in registry.iter_backends()
    }
    memo = _shared(registries)
    try:
        backends = _deepcopy(live, memo)
    except Exception:  # any model moto cannot copy faithfully: the next starts make their calls, as before
        return False
    copied = list(memo.get(id(memo), []))
    # A backend that refers to moto's per-account registry, or to a thread, is not kept: the copy would refer to
    # the registry moto clears at its next reset, or to a thread that is not running.
    if any(isinstance(original, (AccountSpecificBackend, threading.Thread)) for original in copied):
        return False
    copies = {id(value): value for id_, value in memo.items() if id_ != id(memo)}
    for models in model_data.values():
        for model in models.values():
            tracked = model.instances_tracked  # type: ignore[attr-defined]
            tracked[:] = [instance for instance in tracked if id(instance) not in copies]
    objects = [value for value in copies.values() if isinstance(value, FakeKey)]
    with _lock:
        kept = [_Pristine(key, registries, backends, objects), *(p for p in _pristine if p.key != key)]
        dropped = [p for p in _pristine if p.key == key] + kept[_KEPT:]
        _pristine[:] = kept[:_KEPT]
    for pristine in dropped:
        pristine.dispose()
    return True


def restore(key: Any) -> bool:
    """Put a fresh copy of the pristine backends kept for ``key`` into moto; False (nothing done) if there is none
    for these inputs, or moto already holds backends."""
    from moto.core.base_backend import BackendDict
    from moto.s3.models import S3Backend, s3_backends

    with _lock:
        kept = next((p for p in _pristine if p.key == key), None)
    if kept is None or BackendDict._instances:  # type: ignore[misc]
        return False
    try:
        restored = _deepcopy(kept.backends, _shared(kept.registries))
    except Exception:  # a speed-up only: the runtime makes its calls instead
        return False
    for (registry, account, region), backend in restored.items():
        # registry[account] makes the account's backends and registers them for moto's next reset.
        dict.__setitem__(registry[account], region, backend)
        if isinstance(backend, S3Backend):
            for name in backend.buckets:
                s3_backends.bucket_accounts[name] = (backend.partition, account)
    return True


def any_kept() -> bool:
    return bool(_pristine)


@atexit.register
def forget() -> None:
    """Drop every pristine copy (at exit: before the interpreter's teardown, when moto can no longer close them)."""
    with _lock:
        dropped = list(_pristine)
        _pristine.clear()
    for pristine in dropped:
        pristine.dispose()


def _shared(registries: list[Any]) -> dict[int, Any]:
    """A deep copy's memo in which moto's registries of backends (one per service, for the whole process) are
    themselves: a copy refers to the registry, as the original does."""
    return {id(registry): registry for registry in registries}


_copy_lock = threading.Lock()
_LOCK = type(threading.Lock())
_RLOCK = type(threading.RLock())


def _deepcopy(value: Any, memo: dict[int, Any]) -> Any:
    with _copy_lock, _locks_copied_new():
        return copy.deepcopy(value, memo)


@contextlib.contextmanager
def _locks_copied_new() -> Iterator[None]:
    """While copying backends: a lock, a condition or an event is copied as a new one in the same state (no one
    holds a backend's lock while it is copied); a thread is not copied at all (TypeError: no snapshot)."""
    from moto.s3.utils import _VersionedKeyStore
    from moto.ssm.models import ParameterDict

    dispatch: dict[type, Any] = copy._deepcopy_dispatch  # type: ignore[attr-defined]

    def new_lock(lock: Any, memo: dict[int, Any]) -> Any:
        return _LOCK()

    def new_rlock(lock: Any, memo: dict[int, Any]) -> Any:
        return _RLOCK()

    def new_condition(condition: threading.Condition, memo: dict[int, Any]) -> threading.Condition:
        return threading.Condition(copy.deepcopy(condition._lock, memo))  # type: ignore[attr-defined]

    def new_event(event: threading.Event, memo: dict[int, Any]) -> threading.Event:
        copied = threading.Event()
        if event.is_set():
            copied.set()
        return copied

    def no_thread(thread: threading.Thread, memo: dict[int, Any]) -> Any:
        raise TypeError("a moto backend holds a thread: its state is not copied")

    def new_defaultdict(mapping: defaultdict[Any, Any], memo: dict[int, Any]) -> Any:
        # moto's SSM parameters: a defaultdict whose __init__ takes other arguments than the factory.
        copied = type(mapping).__new__(type(mapping))
        defaultdict.__init__(copied, mapping.default_factory)
        memo[id(mapping)] = copied
        copied.__dict__.update(copy.deepcopy(mapping.__dict__, memo))
        for key, value in mapping.items():
            dict.__setitem__(copied, copy.deepcopy(key, memo), copy.deepcopy(value, memo))
        return copied

    def new_versioned_store(store: Any, memo: dict[int, Any]) -> Any:
        # moto's S3 keys: a dict of version lists whose items() yields each key's latest version only, which is
        # all a copy through __reduce_ex__ would keep.
        copied = dict.__new__(type(store))
        memo[id(store)] = copied
        copied.__dict__.update(copy.deepcopy(store.__dict__, memo))
        for key in dict.keys(store):
            dict.__setitem__(copied, key, copy.deepcopy(dict.__getitem__(store, key), memo))
        return copied

    added: dict[type, Any] = {
        ParameterDict: new_defaultdict,
        _VersionedKeyStore: new_versioned_store,
        _LOCK: new_lock,
        _RLOCK: new_rlock,
        threading.Condition: new_condition,
        threading.Event: new_event,
        threading.Thread: no_thread,
    }
    saved = {kind: dispatch.get(kind) for kind in added}
    dispatch.update(added)
    try:
        yield
    finally:
        for kind, previous in saved.items():
            if previous is None:
                dispatch.pop(kind, None)
            else:
                dispatch[kind] = previous
