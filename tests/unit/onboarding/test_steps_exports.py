"""onboarding/steps.py exports the later steps' names lazily (PEP 562): every exported name resolves."""

from __future__ import annotations

import importlib

import pytest

from backoffice.onboarding import steps


def test_every_name_the_steps_module_exports_resolves_to_its_steps_own() -> None:
    # Given the names the module exports (its own, and the later steps' it imports when first asked)
    # When each is read off the module
    # Then each resolves, and a later step's name is the object its own module defines
    for name in steps.__all__:
        value = getattr(steps, name)
        module = steps._EXPORTS.get(name)
        if module is not None:
            assert value is getattr(importlib.import_module(module), name), name
    # And every lazily exported name is listed, and shows in dir()
    assert set(steps._EXPORTS) <= set(steps.__all__)
    assert set(steps.__all__) <= set(dir(steps))


def test_a_name_the_module_does_not_export_is_an_attribute_error() -> None:
    # Given a misspelt name, then reading it fails as for any module
    with pytest.raises(AttributeError, match="read_statment_of_work"):
        steps.read_statment_of_work  # type: ignore[attr-defined]  # noqa: B018
