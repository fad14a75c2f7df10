"""The report's template escapes by default: markup in any name the trail carries shows as text, never as HTML."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import pytest
from jinja2 import UndefinedError

from backoffice import html
from backoffice.audit import Actor
from backoffice.intelligence import build_report, render_html
from backoffice.intelligence.samples import TrailWriter
from tests.html_probes import HOSTILE, Parsed


def test_markup_in_every_name_of_the_trail_is_shown_as_text(
    trail: TrailWriter, at: Callable[[float], datetime]
) -> None:
    # Given cases whose id, workflow, steps, actions, reasons and approval levels all carry markup
    for n, case in enumerate((f"{HOSTILE}-1", f"{HOSTILE}-2")):
        start = n * 10
        trail.add(
            case, at(start), HOSTILE, Actor.system("start"), "case.started", "started", workflow=HOSTILE
        )
        trail.add(
            case, at(start + 1), HOSTILE, Actor.system("x"), f"{HOSTILE}.done", "blocked",
            workflow=HOSTILE, reasons=[HOSTILE],
        )  # fmt: skip
        trail.add(
            case, at(start + 2), HOSTILE, Actor.system("x"), f"{HOSTILE}.done", "done", workflow=HOSTILE
        )
        trail.add(
            case, at(start + 3), "publish outcome", Actor.system("publish"), "outcome.published", "completed",
            workflow=HOSTILE,
        )  # fmt: skip

    # When the report is rendered under a title that is markup too
    page = render_html(build_report(trail.records), title=HOSTILE)

    # Then no element or attribute came from the trail: the names are text (in the page and in its SVG charts)
    parsed = Parsed(page)
    assert "<script" not in page and "<img" not in page
    assert {"script", "img"}.isdisjoint(parsed.tags)
    assert not [name for _, name, _ in parsed.attributes if name.startswith("on")]
    assert parsed.text.count(HOSTILE) >= 5  # title twice, workflow, steps, reasons
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &#34;quoted&#34; &amp;" in page


def test_a_value_the_caller_forgot_fails_the_render_instead_of_showing_nothing() -> None:
    with pytest.raises(UndefinedError):
        html.render("intelligence/report.html.j2", title="Process intelligence")
