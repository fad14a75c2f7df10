"""EventBridge semantics the local runtime needs to route events the way AWS does."""

from backoffice.events.pattern import InvalidEventPattern, matches, validate_pattern

__all__ = ["InvalidEventPattern", "matches", "validate_pattern"]
