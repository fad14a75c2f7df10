"""Handler settings from the environment, validated once at cold start so that a mis-wired function fails loudly."""

from __future__ import annotations

import os
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from backoffice.models.envelope import Model

S = TypeVar("S", bound=BaseModel)


class Settings(Model):
    model_config = ConfigDict(frozen=True, extra="ignore")


class MissingSettings(RuntimeError):
    pass


def from_env(model: type[S]) -> S:
    """Build ``model`` from environment variables named after its fields in upper case."""
    values = {name: os.environ[name.upper()] for name in model.model_fields if name.upper() in os.environ}
    try:
        return model.model_validate(values)
    except ValidationError as error:
        missing = ", ".join(str(e["loc"][0]).upper() for e in error.errors())
        raise MissingSettings(
            f"{model.__name__}: environment variables missing or invalid: {missing}"
        ) from None


class AuditSettings(Settings):
    audit_table_name: str
    event_bus_name: str
