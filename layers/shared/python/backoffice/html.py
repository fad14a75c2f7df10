"""HTML from templates that escape by default: one Jinja2 environment for every page and e-mail of the package.

A template lives in a ``templates`` folder beside the module that renders it and is named by that module's package:
``approvals/confirm.html.j2`` is ``backoffice/approvals/templates/confirm.html.j2``. So a shipped module's templates
ship with it in the Lambda layer (``infra/layer_contents.py`` ships the plain folders beside shipped modules), and the
laptop-only ones (``local/...``) stay behind with their module.

Every ``{{ value }}`` is escaped (``autoescape=True``); a value already HTML must be a ``markupsafe.Markup`` the code
built and escaped itself. A variable the template names and the caller forgot fails the render
(``StrictUndefined``) instead of printing nothing. Escaping does not make a URL safe to follow, so ``href`` and
``action`` values go through the ``http_url`` filter, which lets only http(s) and same-site URLs through.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from jinja2 import BaseLoader, Environment, FileSystemLoader, StrictUndefined, TemplateNotFound

_PACKAGE_DIR = Path(__file__).parent
TEMPLATES_FOLDER = "templates"
# What a link or a form action stands for when its URL is not one a page may point to (javascript:, data:, ...).
BLOCKED_URL = "#"


class _TemplatesBesideModules(BaseLoader):
    """``<package path>/<name>`` -> ``backoffice/<package path>/templates/<name>``."""

    def get_source(
        self, environment: Environment, template: str
    ) -> tuple[str, str | None, Callable[[], bool] | None]:
        package, _, name = template.rpartition("/")
        parts = package.split("/")
        if not package or any(part in ("", ".", "..") for part in parts):
            raise TemplateNotFound(template)
        return _folder_loader(package).get_source(environment, name)


@cache
def _folder_loader(package: str) -> FileSystemLoader:
    return FileSystemLoader(_PACKAGE_DIR / package / TEMPLATES_FOLDER)


def http_url(url: object) -> str:
    """``url`` when a browser may follow it from our pages (http, https, or a path on this site), else ``#``."""
    text = str(url).strip()
    try:
        scheme = urlsplit(text).scheme.lower()
    except ValueError:  # e.g. an unclosed IPv6 bracket
        return BLOCKED_URL
    # A browser reads ``//host`` and ``/\\host`` as another site's address.
    other_site = text.replace("\\", "/").startswith("//")
    if scheme in ("http", "https") or (not scheme and not other_site and ":" not in text.split("/")[0]):
        return text
    return BLOCKED_URL


@cache
def environment() -> Environment:
    env = Environment(
        loader=_TemplatesBesideModules(),
        autoescape=True,
        undefined=StrictUndefined,
        # Templates are written one element a line; block tags leave no blank lines behind.
        trim_blocks=True,
        lstrip_blocks=True,
        # The files do not change under a running function: no stat on every render.
        auto_reload=False,
    )
    env.filters["http_url"] = http_url
    return env


def render(template: str, **context: Any) -> str:
    """The template (``<package>/<file>``, see the module docstring) rendered with ``context``, escaped."""
    return environment().get_template(template).render(**context)
