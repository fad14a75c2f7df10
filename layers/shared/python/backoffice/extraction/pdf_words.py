"""Where each word and drawn mark of a PDF page stands, read with pdfminer.six (``Page.words``).

Why pdfminer.six and not pypdf, which reads everything else here: a flattened form (a W-9 printed to PDF) is read
by where its values stand next to the printed labels, so every glyph's position matters. pypdf's text visitor
reports one position per buffered chunk (the show-text operators of one baseline share the first one's position,
so digits drawn in separate cells collapse onto one point), places text drawn inside a form XObject (how a
flattened field's appearance is drawn) relative to the XObject rather than the page, and reports no paths (the
IRS W-9's own check mark for boxes 1 and 7 is a path). pdfminer.six lays out every glyph through the whole text
state, form XObjects included, and reports paths and images. It is slower (about 0.2 s a page), so only the pages
a reader asks for are laid out.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from typing import Any

from pdfminer.converter import PDFPageAggregator
from pdfminer.layout import LTChar, LTCurve, LTFigure, LTImage, LTRect
from pdfminer.pdfinterp import PDFPageInterpreter, PDFResourceManager
from pdfminer.pdfpage import PDFPage

from backoffice.extraction.local_pdf import DIGITAL_CONFIDENCE, PageFrame, quiet_logger
from backoffice.extraction.model import Box, PageWords, Word

# A glyph continues the word before it when it stands on the same baseline no farther than this many font sizes
# from it (kerning and tracking stay well under it; digits drawn in separate cells are far beyond it).
_WORD_GAP_IN_FONT_SIZES = 0.2
# A filled rectangle up to this size in points is a mark (a ■ tick); larger ones are shading or a black header.
_MARK_MAX_POINTS = 14.0
# Fonts whose glyphs are symbols, not text: a ✔ drawn with ZapfDingbats extracts as "4".
_SYMBOL_FONT = re.compile(r"dingbat|zadb|wingding|webding", re.IGNORECASE)


def page_words(data: bytes, numbers: list[int]) -> list[PageWords]:
    """The words and marks of the pages ``numbers`` (from 1, ascending) of a PDF's bytes."""
    with quiet_logger("pdfminer"):
        return list(_page_words(data, numbers))


def _page_words(data: bytes, numbers: list[int]) -> Iterator[PageWords]:
    """The words and marks of the pages ``numbers`` (from 1, in document order)."""
    resources = PDFResourceManager()
    # No layout analysis (laparams None): glyphs as drawn, not regrouped into text boxes.
    device = PDFPageAggregator(resources, laparams=None)
    interpreter = PDFPageInterpreter(resources, device)
    wanted = {number - 1 for number in numbers}
    for index, pdf_page in enumerate(PDFPage.get_pages(io.BytesIO(data), password="")):
        if index > max(wanted, default=-1):  # the pages after the last one asked for are not even opened
            break
        if index not in wanted:
            continue
        interpreter.process_page(pdf_page)
        layout = device.get_result()
        x0, y0, x1, y1 = layout.bbox
        frame = PageFrame(x0, y0, (x1 - x0) or 1.0, (y1 - y0) or 1.0)
        glyphs: list[LTChar] = []
        marks: list[Box] = []
        for item in _drawn(layout):
            if isinstance(item, LTChar):
                if _SYMBOL_FONT.search(item.fontname):
                    marks.append(frame.box(*item.bbox))
                elif item.upright:  # the form's sideways margin titles are not values
                    glyphs.append(item)
            elif isinstance(item, LTImage) or (isinstance(item, LTCurve) and _is_mark(item)):
                marks.append(frame.box(*item.bbox))
        yield PageWords(width=frame.width, height=frame.height, words=_words(glyphs, frame), marks=marks)


def _drawn(container: Any) -> Iterator[Any]:
    for item in container:
        if isinstance(item, LTFigure):  # a form XObject: a flattened field's appearance, for one
            yield from _drawn(item)
        else:
            yield item


def _is_mark(curve: LTCurve) -> bool:
    """A drawn shape that is not a rule, a box outline or shading: a tick, a cross, a signature stroke."""
    if curve.width < 1.0 or curve.height < 1.0:  # a horizontal or vertical rule
        return False
    if isinstance(curve, LTRect):
        return bool(curve.fill) and max(curve.width, curve.height) <= _MARK_MAX_POINTS
    return True


def _words(glyphs: list[LTChar], frame: PageFrame) -> list[Word]:
    """Glyphs in drawing order, joined into words: a space, a new baseline or a gap ends a word."""
    words: list[list[LTChar]] = []
    ended = True
    for glyph in glyphs:
        if not glyph.get_text().strip():
            ended = True
            continue
        if not ended and _continues(words[-1][-1], glyph):
            words[-1].append(glyph)
        else:
            words.append([glyph])
        ended = False
    return [
        Word(
            text="".join(glyph.get_text() for glyph in word),
            confidence=DIGITAL_CONFIDENCE,
            geometry=frame.box(
                min(g.x0 for g in word),
                min(g.y0 for g in word),
                max(g.x1 for g in word),
                max(g.y1 for g in word),
            ),
        )
        for word in words
    ]


def _continues(previous: LTChar, glyph: LTChar) -> bool:
    size = max(previous.size, glyph.size, 1.0)
    gap = glyph.x0 - previous.x1
    return abs(glyph.y0 - previous.y0) <= 0.25 * size and -0.3 * size <= gap <= _WORD_GAP_IN_FONT_SIZES * size
