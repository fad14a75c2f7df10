"""The wire format: how an event arrives from EventBridge, and how JSON-shaped dicts become models.

Every model of the package is strict, and pydantic's strict Python mode refuses a date written as a string
or a decimal written as a number. Data reaches the product as parsed JSON, so models are validated in JSON
mode instead: ``from_json_dict`` writes the dict back to JSON text and validates that, which accepts exactly
what JSON can say (ISO dates, numbers or strings for decimals) and nothing looser.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Final, Self

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, SecretStr

# Serialization context key: secret fields dump their value only when it is set (see
# ``JsonModel.to_json_dict``).
REVEAL_SECRETS: Final = "reveal_secrets"
# How pydantic dumps a SecretStr that is not revealed.
MASKED_SECRET: Final = "**********"


def _json_default(value: object) -> object:
    """Encodes the Python values a caller may hand over in place of their JSON spelling."""
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError("a decimal must be finite")
        # An integral Decimal (as boto3 returns every DynamoDB number) stays a JSON integer for int fields;
        # any other is written as a string so that every digit reaches the Decimal field untouched.
        if value.as_tuple().exponent == 0:
            return int(value)
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", by_alias=True, context={REVEAL_SECRETS: True})
    raise TypeError(f"a value of type {type(value).__name__} has no JSON form")


def _without_masked(data: Any) -> Any:
    if isinstance(data, dict):
        return {key: _without_masked(value) for key, value in data.items() if value != MASKED_SECRET}
    if isinstance(data, list):
        return [_without_masked(item) for item in data]
    return data


def to_json_text(data: object) -> str:
    """JSON text for JSON-shaped data (as from ``json.loads``); also takes Decimal, date, datetime and models.

    A float is written the shortest way that reads back as the same float, so ``12.5`` reaches a Decimal
    field as ``Decimal("12.5")``, never through binary float error. To keep more digits than a float holds,
    parse the source text with ``json.loads(text, parse_float=Decimal)``. Raises ``ValueError`` for NaN or
    infinity and ``TypeError`` for a value JSON cannot express.
    """
    return json.dumps(data, default=_json_default, allow_nan=False)


class Model(BaseModel):
    """The base of the product's pydantic models: each builds its validator and serializer on first use, not at
    import. A Lambda's cold start imports the models of the packages its handler reaches and uses a few of them;
    building them all (pydantic's default) was a fifth of a cold start. Subclasses merge their own config with
    this one."""

    model_config = ConfigDict(defer_build=True)


class JsonModel(Model):
    """A model that reads and writes the JSON shape in which it travels between services."""

    @classmethod
    def from_json_dict(cls, data: Mapping[str, Any]) -> Self:
        """Validates a JSON-shaped dict (dates and decimals as strings or numbers) in JSON mode.

        Raises ``pydantic.ValidationError``; its text never shows input values (``hide_input_in_errors``).
        """
        return cls.model_validate_json(to_json_text(data))

    def to_json_dict(self, *, reveal_secrets: bool = False) -> dict[str, Any]:
        """The JSON-shaped dict of this model (aliases applied).

        Secret fields (tax ids, bank details) dump as ``"**********"`` unless ``reveal_secrets`` is set, which
        only code sending them to a system of record should do.
        """
        return self.model_dump(mode="json", by_alias=True, context={REVEAL_SECRETS: reveal_secrets})

    def to_state_dict(self) -> dict[str, Any]:
        """The JSON-shaped dict without its secrets, for Step Functions state (which the console and execution
        logs show): a tax id or bank number is left out, not masked, so that the dict still validates; a step
        that needs one reads it from the system of record."""
        dumped: dict[str, Any] = _without_masked(self.to_json_dict())
        return dumped


class EventEnvelope(JsonModel):
    """An EventBridge event as delivered to a target; its ``detail`` is validated per detail-type, apart."""

    # EventBridge adds top-level keys over time (``ingestion-time``, ``replay-name``): they are ignored, not
    # refused.
    model_config = ConfigDict(
        strict=True,
        extra="ignore",
        frozen=True,
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
        hide_input_in_errors=True,
    )

    version: str = Field(min_length=1)
    id: str = Field(min_length=1)
    detail_type: str = Field(alias="detail-type", min_length=1)
    source: str = Field(min_length=1)
    account: str = Field(min_length=1)
    time: AwareDatetime
    region: str = Field(min_length=1)
    resources: list[str] = Field(default_factory=list)
    detail: dict[str, Any]
