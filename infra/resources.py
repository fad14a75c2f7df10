"""What each catalog ``Ref`` resolves to in this stack: the one place a catalog name becomes a CDK token."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TypeVar

from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra.catalog import Catalog, Ref
from infra.storage import Storage

_T = TypeVar("_T")


@dataclass
class CatalogResources:
    """The stack's resources by catalog name, filled in as the constructs that own them are built.

    Environment variables, ASL placeholders and IAM grants all go through ``token``, so a misspelt name in the
    catalog fails the synth with the name in the message instead of deploying an empty variable.
    """

    scope: Construct
    catalog: Catalog
    storage: Storage
    bus: events.IEventBus
    api_url: str | None = None
    functions: dict[str, lambda_.IFunction] = field(default_factory=dict)
    state_machines: dict[str, sfn.StateMachine] = field(default_factory=dict)
    roles: dict[str, iam.IRole] = field(default_factory=dict)
    signing_keys: dict[str, kms.IKey] = field(default_factory=dict)

    def resolve(self, value: Ref | str) -> str:
        """A plain string stays as it is; a ``Ref`` becomes the token CloudFormation fills in at deploy time."""
        return value if isinstance(value, str) else self.token(value)

    def token(self, ref: Ref) -> str:
        match ref.kind:
            case "setting":
                return self.setting(ref.name)
            case "api_url":
                if self.api_url is None:
                    raise KeyError("catalog reference api_url: the catalog declares no API route to serve it")
                return self.api_url
            case "event_bus_name":
                return self.bus.event_bus_name
            case "table_name":
                return _named(self.storage.tables, ref).table_name
            case "bucket_name":
                return _named(self.storage.buckets, ref).bucket_name
            case "topic_arn":
                return _named(self.storage.topics, ref).topic_arn
            case "queue_url":
                return _named(self.storage.queues, ref).queue_url
            case "function_arn":
                return _named(self.functions, ref).function_arn
            case "state_machine_arn":
                return _named(self.state_machines, ref).state_machine_arn
            case "role_arn":
                return _named(self.roles, ref).role_arn
            case "key_arn":
                return _named(self.signing_keys, ref).key_arn
        raise ValueError(f"unknown reference kind {ref.kind!r}")

    def setting(self, name: str) -> str:
        """A catalog setting; CDK context of the same name overrides it per deployment (``-c name=value``)."""
        override = self.scope.node.try_get_context(name)
        if override is not None:
            return str(override)
        try:
            return self.catalog.settings[name]
        except KeyError:
            raise KeyError(
                f"catalog setting {name!r} is neither in the catalog nor in the CDK context"
            ) from None


def _named(resources: dict[str, _T], ref: Ref) -> _T:
    try:
        return resources[ref.name]
    except KeyError:
        known = ", ".join(sorted(resources)) or "none built yet"
        raise KeyError(
            f"catalog reference {ref.kind}:{ref.name!r} names nothing in the stack (known: {known})"
        ) from None
