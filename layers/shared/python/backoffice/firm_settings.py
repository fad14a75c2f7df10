"""What the handlers read of the firm's configuration document: one section of it, from SSM, cached.

The stack writes the document the deploy validated (``backoffice.firm_config.FirmConfig``) to the SSM parameter
named by ``FIRM_CONFIG_PARAMETER``; a handler that needs a section (the approval policy, the contract risk policy,
the vendor policy) reads it here, with Powertools Parameters, kept ``FIRM_CONFIG_MAX_AGE`` seconds (300 by default)
so a new deploy of the document reaches warm functions within five minutes. A function without the variable (a
unit test, a script) gets ``None`` and falls back to the packaged defaults. The models that validate a section stay
with their rules; this module knows only the document's shape, so a handler does not import every policy model.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from functools import lru_cache
from typing import Any, TypeVar

from pydantic import BaseModel

FIRM_CONFIG_MAX_AGE_SECONDS = 300


def firm_config_section(name: str, environ: Mapping[str, str] | None = None) -> Any | None:
    """The section ``name`` of the deployed firm configuration, or ``None`` (no parameter, or no such section)."""
    env = os.environ if environ is None else environ
    parameter = env.get("FIRM_CONFIG_PARAMETER")
    if not parameter:
        return None
    from aws_lambda_powertools.utilities import parameters

    return _sections(str(parameters.get_parameter(parameter, max_age=_max_age(env)))).get(name)


P = TypeVar("P", bound=BaseModel)


def firm_policy(name: str, model: type[P], environ: Mapping[str, str] | None = None) -> P:
    """The section ``name`` of the deployed firm configuration as ``model``, else ``model``'s defaults (the
    sections a firm may leave out: the finance close's policies)."""
    section = firm_config_section(name, environ)
    return model.model_validate(section) if section else model()


def _max_age(env: Mapping[str, str]) -> int:
    try:
        return max(int(env.get("FIRM_CONFIG_MAX_AGE", FIRM_CONFIG_MAX_AGE_SECONDS)), 0)
    except ValueError:
        return FIRM_CONFIG_MAX_AGE_SECONDS


@lru_cache(maxsize=8)
def _sections(text: str) -> dict[str, Any]:
    document = json.loads(text)
    return document if isinstance(document, dict) else {}


__all__ = ["FIRM_CONFIG_MAX_AGE_SECONDS", "firm_config_section", "firm_policy"]
