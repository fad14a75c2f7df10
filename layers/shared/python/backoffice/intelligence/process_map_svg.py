"""The process map as SVG: a directly-follows graph laid out left to right by the activities' average position.

``process_map_layout`` decides where the boxes and lanes go, ``process_map_marks`` places every mark, and the
templates ``intelligence/process_map.svg.j2`` and ``process_map_legend.svg.j2`` draw them, every text escaped.
"""

from __future__ import annotations

from backoffice.intelligence.charts import draw, nothing_to_show
from backoffice.intelligence.metrics import ProcessMap
from backoffice.intelligence.process_map_layout import BOX_H, BOX_W, START, Layout, Route, Slot, layout
from backoffice.intelligence.process_map_marks import LOOP_COLOR, legend_keys, map_marks

# The layout's names stay importable from here, where the map's readers (tests, the console) have long found them.
__all__ = ["BOX_H", "BOX_W", "START", "Layout", "Route", "Slot", "layout", "legend", "process_map_svg"]


def process_map_svg(pm: ProcessMap, *, title: str | None = None) -> str:
    """Boxes per activity (events in the pill; ■ n: cases that ended there), arrows per transition with counts."""
    name = title or f"process map of {pm.workflow}"
    if not pm.nodes:
        return nothing_to_show("No events.", title=name, width=400, height=44, baseline=26)
    return draw("process_map", title=name, chart=map_marks(pm), loop_color=LOOP_COLOR)


def legend() -> str:
    """The colour and line key of the process map, as inline SVG swatches."""
    return draw("process_map_legend", keys=legend_keys(), loop_color=LOOP_COLOR)
