"""Every pydantic model the Lambda layer ships builds its validator on first use, not at import.

A cold start imports every model of the packages its handler reaches and uses a few of them; building them all
at import (pydantic's default) was about a fifth of a cold start. ``backoffice.models.envelope.Model`` defers the
build; this test holds every shipped model to it and shows that a deferred model still validates and refuses as
before. ``python -m bench cold_start`` measures the time.
"""

from __future__ import annotations

import importlib

import pytest
from pydantic import BaseModel, ValidationError
from test_layer_contents import HANDLERS_DIR, PACKAGE_DIR

from infra.layer_contents import layer_contents


def _subclasses(cls: type[BaseModel]) -> list[type[BaseModel]]:
    found, stack = [], list(cls.__subclasses__())
    while stack:
        subclass = stack.pop()
        found.append(subclass)
        stack.extend(subclass.__subclasses__())
    return found


def test_every_shipped_model_defers_its_build() -> None:
    # Given every module the layer ships, imported
    shipped = layer_contents(PACKAGE_DIR, HANDLERS_DIR).modules
    for module in shipped:
        importlib.import_module(module)
    # When its pydantic models are listed / Then each defers building its validator to first use
    models = [m for m in _subclasses(BaseModel) if m.__module__ in shipped]
    assert len(models) > 50
    eager = sorted(
        f"{m.__module__}.{m.__qualname__}" for m in models if not m.model_config.get("defer_build")
    )
    assert eager == [], "derive from backoffice.models.envelope.Model (or JsonModel)"


def test_a_deferred_model_validates_and_refuses_on_first_use() -> None:
    # Given a shipped model whose validator is not built yet
    from backoffice.models import Address

    assert Address.model_config.get("defer_build")
    # When it is first used / Then it validates as pydantic always did, and refuses bad input
    address = Address.from_json_dict({"line1": "1 Main St", "city": "Springfield", "country": "US"})
    assert address.to_json_dict()["city"] == "Springfield"
    with pytest.raises(ValidationError):
        Address.from_json_dict({"line1": "1 Main St", "city": "Springfield", "country": "USA!"})
