"""Declarative field mapping: a system's JSON to the JSON shape of a canonical model (or back), with no code.

A mapping is a JSON document a firm writes for its PSA, HRIS or webhook sender::

    {"fields": {
        "id":            "/employeeId",                                  # a JSON pointer (RFC 6901) ...
        "name":          "displayName",                                  # ... or a dotted path
        "email":         {"source": "/workEmail", "transforms": ["lower"]},
        "cost_rate":     {"source": "pay.hourly.amount", "transforms": ["decimal"]},
        "currency":      {"source": "pay.hourly.currency", "transforms": ["upper"], "default": "USD"},
        "employment":    {"source": "/type", "values": {"Full-Time": "employee", "Contractor": "contractor"}},
        "is_active":     {"source": "/status", "values": {"Active": true, "Terminated": false}},
        "roles":         {"source": "/jobCode", "transforms": ["lower", "list"]},
        "address.country": {"constant": "US"}                            # a dotted target builds nested objects
    }}

A list of objects (an invoice's lines, a contract's milestones) maps element by element with ``items``, a mapping
of its own::

        "lines": {"source": "/line_items", "items": {"fields": {"description": "/text", "amount": "/total"}}}

Each rule takes one value (``source`` path or ``constant``), applies ``transforms`` in order, then ``items`` or the
``values`` table; a missing or null value falls back to ``default``, else the target is left out so the model's own default
applies (or, when ``required``, the mapping fails). The result is a JSON-shaped dict (dates as ISO strings, decimals
as strings) for ``Model.from_json_dict``. Error messages name targets and transforms, never the values, which may be
tax ids.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from pydantic import ConfigDict, Field, JsonValue, field_validator, model_validator

from backoffice.models.envelope import Model

Transform = Literal[
    "string",
    "lower",
    "upper",
    "strip",
    "decimal",
    "cents",
    "integer",
    "boolean",
    "date",
    "datetime",
    "list",
    "split",
]

_TRUE = frozenset({"true", "t", "yes", "y", "1", "on"})
_FALSE = frozenset({"false", "f", "no", "n", "0", "off"})
_MISSING: Any = object()


class MappingError(ValueError):
    """The document does not map; ``errors`` are ``"<target>: <why>"`` strings without input values."""

    def __init__(self, errors: Sequence[str]) -> None:
        self.errors = list(errors)
        super().__init__("; ".join(self.errors))


# ------------------------------------------------------------------------------------------------------------
# Paths
# ------------------------------------------------------------------------------------------------------------


def path_parts(path: str) -> list[str]:
    """``/a/b~1c/0`` (JSON pointer) or ``a.b.0`` (dotted) as parts; ``""`` and ``"/"`` are the document itself."""
    if path in ("", "/"):
        return []
    if path.startswith("/"):
        return [part.replace("~1", "/").replace("~0", "~") for part in path[1:].split("/")]
    return path.split(".")


def read_path(document: Any, path: str) -> Any:
    """The value at ``path``, or ``None`` when any step is missing."""
    value = document
    for part in path_parts(path):
        if isinstance(value, Mapping):
            value = value.get(part)
        elif isinstance(value, list) and re.fullmatch(r"-?\d+", part):
            index = int(part)
            value = value[index] if -len(value) <= index < len(value) else None
        else:
            return None
        if value is None:
            return None
    return value


def write_path(document: dict[str, Any], path: str, value: Any) -> None:
    parts = path_parts(path)
    if not parts:
        raise ValueError("a target path cannot be the document itself")
    node = document
    for part in parts[:-1]:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise ValueError(f"target {path} goes through a value that is not an object")
        node = child
    node[parts[-1]] = value


# ------------------------------------------------------------------------------------------------------------
# Rules
# ------------------------------------------------------------------------------------------------------------


class FieldRule(Model):
    model_config = ConfigDict(extra="forbid", frozen=True)

    source: str | None = None
    constant: JsonValue = None
    transforms: tuple[Transform, ...] = ()
    date_format: str | None = None  # strptime format for "date" and "datetime", e.g. "%m/%d/%Y"
    values: dict[str, JsonValue] | None = None  # looked up with the value's text after the transforms
    items: FieldMapping | None = None  # a list's elements, each mapped by this mapping
    default: JsonValue = None
    required: bool = False

    @model_validator(mode="after")
    def _one_value(self) -> FieldRule:
        has_constant = "constant" in self.model_fields_set
        if (self.source is None) == (not has_constant):
            raise ValueError("give exactly one of source and constant")
        if self.items is not None and self.values is not None:
            raise ValueError("give items or values, not both")
        return self


class FieldMapping(Model):
    """Target path -> rule (or a bare source path). Validate a document with ``FieldMapping.model_validate``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    fields: dict[str, FieldRule] = Field(min_length=1)

    @field_validator("fields", mode="before")
    @classmethod
    def _shorthand(cls, raw: Any) -> Any:
        if isinstance(raw, Mapping):
            return {
                target: {"source": rule} if isinstance(rule, str) else rule for target, rule in raw.items()
            }
        return raw

    @field_validator("fields")
    @classmethod
    def _targets_distinct(cls, fields: dict[str, FieldRule]) -> dict[str, FieldRule]:
        prefixes = {".".join(path_parts(t)[:i]) for t in fields for i in range(1, len(path_parts(t)))}
        clashes = sorted(t for t in fields if ".".join(path_parts(t)) in prefixes)
        if clashes:
            raise ValueError(f"targets used both as a value and as an object: {', '.join(clashes)}")
        return fields

    def apply(self, document: Any, *, context: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Map ``document``. ``context`` values are readable as sources named ``$name`` (an idempotency key)."""
        result: dict[str, Any] = {}
        errors: list[str] = []
        for target, rule in self.fields.items():
            try:
                value = _value_of(rule, document, context or {})
            except _RuleFailed as failure:
                errors.append(f"{target}: {failure}")
                continue
            if value is _MISSING:
                if rule.required:
                    errors.append(f"{target}: required, but {rule.source} has no value")
                continue
            write_path(result, target, value)
        if errors:
            raise MappingError(errors)
        return result


FieldRule.model_rebuild()


class _RuleFailed(Exception):
    pass


def _value_of(rule: FieldRule, document: Any, context: Mapping[str, Any]) -> Any:
    if rule.source is None:
        value: Any = rule.constant
    elif rule.source.startswith("$"):
        value = context.get(rule.source[1:])
    else:
        value = read_path(document, rule.source)
    if value is not None:
        for transform in rule.transforms:
            value = _transform(transform, value, rule.date_format)
            if value is None:
                break
    if value is not None and rule.items is not None:
        if not isinstance(value, list):
            raise _RuleFailed("items needs a list")
        mapped: list[dict[str, Any]] = []
        problems: list[str] = []
        for index, element in enumerate(value):
            try:
                mapped.append(rule.items.apply(element, context=context))
            except MappingError as error:
                problems.extend(f"[{index}] {e}" for e in error.errors)
        if problems:
            raise _RuleFailed("; ".join(problems))
        return mapped
    if value is not None and rule.values is not None:
        key = _text(value)
        if key in rule.values:
            value = rule.values[key]
        elif "default" in rule.model_fields_set:
            return rule.default
        else:
            raise _RuleFailed("value is not in the values table")
    if value is None:
        return rule.default if "default" in rule.model_fields_set else _MISSING
    return value


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _transform(name: Transform, value: Any, date_format: str | None) -> Any:
    try:
        return _TRANSFORMS[name](value, date_format)
    except _RuleFailed:
        raise
    except (ValueError, TypeError, ArithmeticError, InvalidOperation):
        raise _RuleFailed(f"transform {name} does not apply to the value") from None


def _string(value: Any, _: str | None) -> str:
    if isinstance(value, dict | list):
        raise _RuleFailed("transform string does not apply to an object or a list")
    return _text(value)


def _strings(value: Any, op: str) -> Any:
    if isinstance(value, list):
        return [_strings(item, op) for item in value]
    if not isinstance(value, str):
        raise _RuleFailed(f"transform {op} needs text")
    result: str = getattr(value, op)()
    return result or None


def _decimal(value: Any, _: str | None) -> str:
    if isinstance(value, bool | dict | list):
        raise _RuleFailed("transform decimal needs a number")
    number = Decimal(str(value).strip().replace(",", "")) if isinstance(value, str) else Decimal(str(value))
    if not number.is_finite():
        raise _RuleFailed("transform decimal needs a finite number")
    return str(number)


def _cents(value: Any, _: str | None) -> str:
    if isinstance(value, bool) or not isinstance(value, int | str | Decimal):
        raise _RuleFailed("transform cents needs a whole number of minor units")
    minor = Decimal(str(value))
    if minor != minor.to_integral_value():
        raise _RuleFailed("transform cents needs a whole number of minor units")
    return str((minor / 100).quantize(Decimal("0.01")))


def _integer(value: Any, _: str | None) -> int:
    if isinstance(value, bool):
        raise _RuleFailed("transform integer needs a number")
    number = Decimal(str(value).strip())
    if number != number.to_integral_value():
        raise _RuleFailed("transform integer needs a whole number")
    return int(number)


def _boolean(value: Any, _: str | None) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise _RuleFailed("transform boolean needs true/false, yes/no, t/f, 1/0 or on/off")


def _date(value: Any, date_format: str | None) -> str:
    if not isinstance(value, str):
        raise _RuleFailed("transform date needs text")
    text = value.strip()
    if date_format:
        return datetime.strptime(text, date_format).date().isoformat()
    if len(text) > 10:
        return _parse_datetime(text).date().isoformat()
    return date.fromisoformat(text).isoformat()


def _datetime(value: Any, date_format: str | None) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, UTC).isoformat()
    if not isinstance(value, str):
        raise _RuleFailed("transform datetime needs text or epoch seconds")
    parsed = datetime.strptime(value.strip(), date_format) if date_format else _parse_datetime(value.strip())
    if parsed.tzinfo is None:
        raise _RuleFailed("transform datetime needs a time zone in the value (or Z)")
    return parsed.isoformat()


def _parse_datetime(text: str) -> datetime:
    # Salesforce writes "+0000" without a colon, which fromisoformat reads only from Python 3.11 on: normalised
    # here for clarity.
    text = re.sub(r"([+-]\d{2})(\d{2})$", r"\1:\2", text.replace("Z", "+00:00"))
    return datetime.fromisoformat(text)


def _list(value: Any, _: str | None) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _split(value: Any, _: str | None) -> list[str]:
    if not isinstance(value, str):
        raise _RuleFailed("transform split needs text")
    return [part.strip() for part in value.split(",") if part.strip()]


_TRANSFORMS: dict[str, Any] = {
    "string": _string,
    "lower": lambda v, _: _strings(v, "lower"),
    "upper": lambda v, _: _strings(v, "upper"),
    "strip": lambda v, _: _strings(v, "strip"),
    "decimal": _decimal,
    "cents": _cents,
    "integer": _integer,
    "boolean": _boolean,
    "date": _date,
    "datetime": _datetime,
    "list": _list,
    "split": _split,
}
