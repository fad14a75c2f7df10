"""Which EventBridge rules an event matches: the event-pattern language, evaluated the way AWS does.

The local runtime routes events to rules with this module, so a rule that fires here must fire on AWS and a
rule that stays silent here must stay silent there. The semantics follow the EventBridge user guide ("Creating
event patterns", "Content filtering in Amazon EventBridge event patterns", "Comparison operators") and, where
the guide is silent, aws/event-ruler, the matching library behind EventBridge:

- A pattern is an object whose leaves are non-empty arrays. Values in one array are alternatives (OR); fields
  are all required (AND); ``$or`` takes two or more sub-patterns, at any depth.
- An event array matches when any of its elements does; nested arrays are flattened. When the pattern descends
  into an array of objects, every field of that sub-pattern must be satisfied by the same element.
- Exact values compare as JSON: ``"5"`` is not ``5``, ``true`` is not ``1`` and, because EventBridge compares
  numbers by their text, ``300`` is not ``300.0``. ``numeric`` and numeric ``anything-but`` compare by value.
- Only leaves carry values: an object, an empty object or an empty array holds no value, so ``exists: false``
  matches it and every other operator does not.

Not emulated: dotted keys standing for nested objects, the service's numeric range limits, and event-ruler's
order-dependent reading of ``exists: false`` inside an array of objects (here: some element lacks the field).
"""

from __future__ import annotations

import ipaddress
import math
import operator
import re
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any, Final

__all__ = ["InvalidEventPattern", "matches", "validate_pattern"]

OR_KEY: Final = "$or"
_ABSENT: Final = object()
_COMPARISONS: Final[dict[str, Callable[[Any, Any], bool]]] = {
    "=": operator.eq,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
_LOWER_BOUNDS: Final = (">", ">=")
_UPPER_BOUNDS: Final = ("<", "<=")


class InvalidEventPattern(ValueError):
    """A pattern EventBridge would refuse; the message starts with the path of the offending part."""


def _invalid(where: str, reason: str) -> InvalidEventPattern:
    return InvalidEventPattern(f"{where or 'pattern'}: {reason}")


def validate_pattern(pattern: Mapping[str, Any]) -> None:
    """Raise InvalidEventPattern unless ``pattern`` is an event pattern EventBridge accepts."""
    _check_object(pattern, "")


def matches(pattern: Mapping[str, Any], event: Mapping[str, Any]) -> bool:
    """Whether EventBridge would deliver ``event`` (the full envelope: source, detail-type, detail...)."""
    validate_pattern(pattern)
    return _object_matches(pattern, event)


# --- validation ---------------------------------------------------------------------------------------------


def _check_object(node: Any, where: str) -> None:
    if not isinstance(node, Mapping):
        raise _invalid(where, "must be an object")
    if not node:
        raise _invalid(where, "empty objects are not allowed")
    for key, value in node.items():
        if not isinstance(key, str):
            raise _invalid(where, f"field names must be strings, not {key!r}")
        path = f"{where}.{key}" if where else key
        if key == OR_KEY:
            _check_or(value, path)
        elif isinstance(value, Mapping):
            _check_object(value, path)
        elif isinstance(value, list):
            if not value:
                raise _invalid(path, "empty arrays are not allowed")
            for index, match_value in enumerate(value):
                _check_match_value(match_value, f"{path}[{index}]")
        else:
            raise _invalid(path, "must be an object or an array of match values")


def _check_or(branches: Any, where: str) -> None:
    if not isinstance(branches, list) or len(branches) < 2:
        raise _invalid(where, "must be an array of at least two objects")
    for index, branch in enumerate(branches):
        _check_object(branch, f"{where}[{index}]")


def _check_match_value(value: Any, where: str) -> None:
    if value is None or isinstance(value, str | bool):
        return
    if isinstance(value, int | float):
        _check_number(value, where)
        return
    if not isinstance(value, Mapping):
        raise _invalid(where, "a match value is a string, number, true, false, null or an operator")
    if len(value) != 1:
        raise _invalid(where, f"an operator object takes exactly one key, not {list(value)}")
    ((name, operand),) = value.items()
    check = _OPERAND_CHECKS.get(name)
    if check is None:
        raise _invalid(where, f"unknown operator {name!r}")
    check(operand, f"{where}.{name}")


def _check_number(value: Any, where: str) -> None:
    if not _is_number(value) or not math.isfinite(value):
        raise _invalid(where, f"must be a finite number, not {value!r}")


def _check_string(operand: Any, where: str) -> None:
    if not isinstance(operand, str):
        raise _invalid(where, f"must be a string, not {operand!r}")


def _check_affix(operand: Any, where: str) -> None:
    if isinstance(operand, Mapping) and list(operand) == ["equals-ignore-case"]:
        _check_string(operand["equals-ignore-case"], f"{where}.equals-ignore-case")
    elif not isinstance(operand, str):
        raise _invalid(where, 'must be a string or {"equals-ignore-case": "<string>"}')


def _check_wildcard(operand: Any, where: str) -> None:
    _check_string(operand, where)
    try:
        _wildcard_regex(operand)
    except ValueError as error:
        raise _invalid(where, str(error)) from None


def _check_cidr(operand: Any, where: str) -> None:
    _check_string(operand, where)
    try:
        _network(operand)
    except ValueError as error:
        raise _invalid(where, f"not a CIDR block: {error}") from None


def _check_exists(operand: Any, where: str) -> None:
    if not isinstance(operand, bool):
        raise _invalid(where, f"must be true or false, not {operand!r}")


def _check_numeric(operand: Any, where: str) -> None:
    if not isinstance(operand, list) or len(operand) not in (2, 4):
        raise _invalid(where, 'must be ["<op>", <number>] or [">"|">=", <low>, "<"|"<=", <high>]')
    for comparison, bound in zip(operand[::2], operand[1::2], strict=True):
        if not isinstance(comparison, str) or comparison not in _COMPARISONS:
            raise _invalid(where, f"unknown comparison {comparison!r}; use one of {list(_COMPARISONS)}")
        _check_number(bound, f"{where} {comparison}")
    if len(operand) == 4:
        low_op, low, high_op, high = operand
        if low_op not in _LOWER_BOUNDS or high_op not in _UPPER_BOUNDS:
            raise _invalid(where, 'a range is ">" or ">=" a low bound, then "<" or "<=" a high bound')
        if low >= high:
            raise _invalid(where, f"the low bound {low} must be less than the high bound {high}")


def _check_anything_but(operand: Any, where: str) -> None:
    if isinstance(operand, Mapping):
        if len(operand) != 1:
            raise _invalid(where, "takes exactly one of prefix, suffix, equals-ignore-case, wildcard")
        ((name, inner),) = operand.items()
        path = f"{where}.{name}"
        if name in ("prefix", "suffix"):
            if not isinstance(inner, str) or not inner:
                raise _invalid(path, "must be a non-empty string")
        elif name in ("equals-ignore-case", "wildcard"):
            values = inner if isinstance(inner, list) else [inner]
            if not values:
                raise _invalid(path, "empty arrays are not allowed")
            for value in values:
                (_check_wildcard if name == "wildcard" else _check_string)(value, path)
        else:
            raise _invalid(where, f"unsupported operator {name!r} inside anything-but")
        return
    values = operand if isinstance(operand, list) else [operand]
    if not values:
        raise _invalid(where, "empty arrays are not allowed")
    if all(isinstance(value, str) for value in values):
        return
    if all(_is_number(value) for value in values):
        for value in values:
            _check_number(value, where)
        return
    raise _invalid(where, "takes a string, a number, or an array of only strings or only numbers")


_OPERAND_CHECKS: Final[dict[str, Callable[[Any, str], None]]] = {
    "prefix": _check_affix,
    "suffix": _check_affix,
    "equals-ignore-case": _check_string,
    "wildcard": _check_wildcard,
    "anything-but": _check_anything_but,
    "numeric": _check_numeric,
    "exists": _check_exists,
    "cidr": _check_cidr,
}


# --- matching (the pattern is already valid) ----------------------------------------------------------------


def _object_matches(pattern: Mapping[str, Any], node: Mapping[str, Any]) -> bool:
    return all(_field_matches(key, condition, node) for key, condition in pattern.items())


def _field_matches(key: str, condition: Any, node: Mapping[str, Any]) -> bool:
    if key == OR_KEY:
        return any(_object_matches(branch, node) for branch in condition)
    value = node.get(key, _ABSENT)
    if isinstance(condition, Mapping):
        return _nested_matches(condition, value)
    leaves = [item for item in _flatten(value) if not isinstance(item, Mapping)]
    return any(_leaves_match(match_value, leaves) for match_value in condition)


def _nested_matches(pattern: Mapping[str, Any], value: Any) -> bool:
    if isinstance(value, Mapping):
        return _object_matches(pattern, value)
    elements = [item for item in _flatten(value) if isinstance(item, Mapping)]
    if elements:
        return any(_object_matches(pattern, element) for element in elements)
    # Nothing to descend into (absent, a scalar, an empty array): only `exists: false` can still hold.
    return _object_matches(pattern, {})


def _flatten(value: Any) -> list[Any]:
    if value is _ABSENT:
        return []
    if isinstance(value, list | tuple):
        return [leaf for item in value for leaf in _flatten(item)]
    return [value]


def _leaves_match(match_value: Any, leaves: list[Any]) -> bool:
    if isinstance(match_value, Mapping) and "exists" in match_value:
        return bool(leaves) == match_value["exists"]
    return any(_value_matches(match_value, leaf) for leaf in leaves)


def _value_matches(match_value: Any, value: Any) -> bool:
    if not isinstance(match_value, Mapping):
        # Same JSON type and value: keeps "5" != 5, true != 1 and 300 != 300.0 apart.
        return _json_type(match_value) is _json_type(value) and match_value == value
    ((name, operand),) = match_value.items()
    return _OPERATOR_TESTS[name](operand, value)


def _json_type(value: Any) -> type | None:
    # isinstance, not type(): a StrEnum member built in Python is still a JSON string.
    return next((kind for kind in (bool, str, int, float) if isinstance(value, kind)), None)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _prefix(operand: Any, value: Any) -> bool:
    if not isinstance(value, str):
        return False
    if isinstance(operand, Mapping):
        return value.lower().startswith(operand["equals-ignore-case"].lower())
    return value.startswith(operand)


def _suffix(operand: Any, value: Any) -> bool:
    if not isinstance(value, str):
        return False
    if isinstance(operand, Mapping):
        return value.lower().endswith(operand["equals-ignore-case"].lower())
    return value.endswith(operand)


def _equals_ignore_case(operand: str, value: Any) -> bool:
    return isinstance(value, str) and value.lower() == operand.lower()


def _wildcard(operand: str, value: Any) -> bool:
    return isinstance(value, str) and _wildcard_regex(operand).fullmatch(value) is not None


def _numeric(operand: list[Any], value: Any) -> bool:
    return _is_number(value) and all(
        _COMPARISONS[comparison](value, bound)
        for comparison, bound in zip(operand[::2], operand[1::2], strict=True)
    )


def _cidr(operand: str, value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return False
    return address in _network(operand)


def _anything_but(operand: Any, value: Any) -> bool:
    if isinstance(operand, Mapping):
        ((name, inner),) = operand.items()
        excluded = inner if isinstance(inner, list) else [inner]
        test = _OPERATOR_TESTS[name]
        return not any(test(item, value) for item in excluded)
    excluded = operand if isinstance(operand, list) else [operand]
    # Strings exclude equal strings; numbers exclude numerically equal numbers; nothing else is excluded.
    if isinstance(value, str):
        return value not in [item for item in excluded if isinstance(item, str)]
    if _is_number(value):
        return value not in [item for item in excluded if _is_number(item)]
    return True


_OPERATOR_TESTS: Final[dict[str, Callable[[Any, Any], bool]]] = {
    "prefix": _prefix,
    "suffix": _suffix,
    "equals-ignore-case": _equals_ignore_case,
    "wildcard": _wildcard,
    "anything-but": _anything_but,
    "numeric": _numeric,
    "cidr": _cidr,
}


@lru_cache(maxsize=512)
def _wildcard_regex(wildcard: str) -> re.Pattern[str]:
    """``*`` is any run of characters; ``\\*`` and ``\\\\`` are a literal star and backslash."""
    parts: list[str] = []
    index = 0
    while index < len(wildcard):
        char = wildcard[index]
        if char == "\\":
            escaped = wildcard[index + 1 : index + 2]
            if escaped not in ("*", "\\"):
                raise ValueError(f"a backslash may only escape '*' or '\\' (position {index})")
            parts.append(re.escape(escaped))
            index += 2
            continue
        if char == "*":
            if wildcard[index + 1 : index + 2] == "*":
                raise ValueError(f"consecutive wildcard characters at position {index}")
            parts.append(".*")
        else:
            parts.append(re.escape(char))
        index += 1
    return re.compile("".join(parts), re.DOTALL)


@lru_cache(maxsize=512)
def _network(cidr: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    if "/" not in cidr:
        raise ValueError(f"{cidr!r} has no '/<prefix length>'")
    return ipaddress.ip_network(cidr, strict=False)
