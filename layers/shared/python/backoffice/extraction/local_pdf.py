"""The embedded extractor: digital PDFs read with pypdf, into the same normalized document as Textract's.

It is the default of the local runtime, which has no AWS account: it never calls AWS. What it reads is exact
(confidence 100), but it reads only what a PDF holds as data:

- AcroForm fields: text values and checkbox states (a filled fillable W-9 yields every field by its name);
- the text layer, as lines with their position on the page;
- signatures that are data: ink and stamp annotations, signed signature fields; free-text annotations (how
  PDF editors add a typed date) become lines;
- on request (``keep_words_on``), for a form whose fields hold no value (printed to PDF: flattened), the words
  and drawn marks of its form page with their exact positions (``Page.words``), which a profile reads by the
  form's printed labels.

Lines come from pypdf's text extraction; word positions from pdfminer.six (``pdf_words`` says why).
"""

from __future__ import annotations

import io
import logging
import math
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from pypdf import PdfReader
from pypdf.generic import ArrayObject, DictionaryObject

from backoffice.extraction.inputs import (
    BadDocument,
    CorruptDocument,
    EncryptedDocument,
    check_page_count,
)
from backoffice.extraction.model import (
    Box,
    FormField,
    Line,
    NormalizedDocument,
    Page,
    SelectionElement,
    Signature,
    is_sensitive_key,
)

DIGITAL_CONFIDENCE = 100.0

# Field flags (PDF 32000-1, 12.7.4.2): radio and push buttons among /Btn fields.
_FF_RADIO = 1 << 15
_FF_PUSHBUTTON = 1 << 16

# Text runs on one baseline farther apart than this many font sizes are separate lines (two columns, or a label
# and the value typed far to its right), as Textract would see them.
_LINE_GAP_IN_FONT_SIZES = 2.0
# A glyph is about half as wide as the font is high; enough to tell a gap from the next word.
_GLYPH_WIDTH_IN_FONT_SIZES = 0.5


def read_pdf(data: bytes, *, keep_words_on: str | None = None) -> NormalizedDocument:
    """The normalized document of a PDF's bytes. Raises ``BadDocument`` (encrypted, no pages, corrupt...).

    ``keep_words_on``: a pattern (case ignored); when no form field of the PDF holds a value, the pages whose
    text matches it keep their words and drawn marks with positions (``Page.words``). A form whose fields hold
    values is read from them, and other documents do not pay for the word layout.
    """
    with quiet_logger("pypdf"):
        try:
            reader = PdfReader(io.BytesIO(data), strict=False)
            encrypted = reader.is_encrypted
        except BadDocument:
            raise
        except Exception as error:
            raise CorruptDocument("the PDF cannot be read: it is damaged", _describe(error)) from None
        if encrypted:
            _decrypt_or_refuse(reader)
        try:
            page_count = len(reader.pages)
        except Exception as error:
            raise CorruptDocument("the PDF's page tree cannot be read", _describe(error)) from None
        check_page_count(page_count)
        pages: list[Page] = []
        fields: list[FormField] = []
        selection: list[SelectionElement] = []
        signatures: list[Signature] = []
        warnings: list[str] = []
        for number, pdf_page in enumerate(reader.pages, start=1):
            try:
                frame = PageFrame.of(pdf_page)
                lines = _text_lines(pdf_page, number, frame)
                annotations = _annotations(pdf_page, number, frame)
                has_images = not lines and _has_images(pdf_page)
            except Exception as error:
                raise CorruptDocument(f"page {number} of the PDF cannot be read", _describe(error)) from None
            lines.extend(annotations.lines)
            fields.extend(annotations.fields)
            selection.extend(annotations.selection)
            signatures.extend(annotations.signatures)
            if has_images and not annotations.lines:
                warnings.append(f"page {number} is an image (a scan): it has no text to read without OCR")
            pages.append(
                Page(number=number, lines=_top_to_bottom(lines), has_text_layer=bool(lines) or not has_images)
            )
    if keep_words_on is not None and not any(field.value or field.selected for field in fields):
        pages = _with_words(data, pages, keep_words_on, warnings)
    return NormalizedDocument(
        source="local_pdf",
        page_count=page_count,
        pages=pages,
        fields=fields,
        selection_elements=selection,
        signatures=signatures,
        warnings=warnings,
    )


@contextmanager
def quiet_logger(name: str) -> Iterator[None]:
    """Errors only from the named library's logger while a PDF is read: pypdf logs a warning per font it cannot
    fully decode and per repaired cross-reference, pdfminer.six per font it cannot fully describe and per missing
    box; none changes what is read, and a command line printing JSON must not print them."""
    logger = logging.getLogger(name)
    previous = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(previous)


def _describe(error: Exception) -> str:
    return f"{type(error).__name__}: {error}"[:300]


def _decrypt_or_refuse(reader: PdfReader) -> None:
    """A PDF with an owner password only (printing or editing restricted) opens with an empty password and is
    read; one that needs a password to open is refused (Textract refuses it too)."""
    try:
        opened = bool(reader.decrypt(""))
    except Exception:
        opened = False
    if not opened:
        raise EncryptedDocument(
            "the PDF is protected by a password", "ask the sender for a copy without a password"
        )


@dataclass(frozen=True)
class PageFrame:
    """The page's visible area in PDF points, to express positions as fractions from the top left."""

    left: float
    bottom: float
    width: float
    height: float

    @classmethod
    def of(cls, page: Any) -> PageFrame:
        box = page.cropbox
        width, height = float(box.width) or 1.0, float(box.height) or 1.0
        return cls(float(box.left), float(box.bottom), width, height)

    def box(self, x0: float, y0: float, x1: float, y1: float) -> Box:
        left, right = sorted((x0, x1))
        low, high = sorted((y0, y1))
        return Box(
            left=(left - self.left) / self.width,
            top=(self.bottom + self.height - high) / self.height,
            width=(right - left) / self.width,
            height=(high - low) / self.height,
        )


@dataclass
class _Run:
    x: float
    y: float
    size: float
    text: str
    width: float

    @property
    def end(self) -> float:
        return self.x + self.width


def _text_width(text: str, font: Any, size: float) -> float:
    """The run's width from the font's glyph widths (simple fonts list them), else an average glyph width."""
    widths = font.get("/Widths") if isinstance(font, DictionaryObject) else None
    if widths is not None:
        widths = widths.get_object()
        first = int(font.get("/FirstChar", 0))
        total = 0.0
        for char in text:
            index = ord(char) - first
            total += float(widths[index]) if 0 <= index < len(widths) else 500.0
        return total / 1000 * size
    return len(text) * size * _GLYPH_WIDTH_IN_FONT_SIZES


def _text_lines(page: Any, number: int, frame: PageFrame) -> list[Line]:
    """The text layer as lines: pypdf's text runs grouped by baseline and split at wide gaps."""
    runs: list[_Run] = []

    def visit(text: str, cm: Sequence[float], tm: Sequence[float], font: Any, font_size: float) -> None:
        if not text.strip():
            return
        x = tm[4] * cm[0] + tm[5] * cm[2] + cm[4]
        y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
        size = abs(font_size * math.hypot(tm[2], tm[3]) * math.hypot(cm[2], cm[3])) or 10.0
        for index, piece in enumerate(text.split("\n")):
            if piece.strip():
                runs.append(_Run(x, y - index * size * 1.2, size, piece, _text_width(piece, font, size)))

    page.extract_text(visitor_text=visit)
    lines: list[Line] = []
    for baseline in _baselines(runs):
        for segment in _segments(sorted(baseline, key=lambda run: run.x)):
            text = " ".join("".join(_joined(segment)).split())
            if not text:
                continue
            size = max(run.size for run in segment)
            top = max(run.y for run in segment) + size * 0.8
            lines.append(
                Line(
                    page=number,
                    text=text,
                    confidence=DIGITAL_CONFIDENCE,
                    geometry=frame.box(segment[0].x, top, max(run.end for run in segment), top - size),
                )
            )
    return lines


def _baselines(runs: list[_Run]) -> list[list[_Run]]:
    ordered = sorted(runs, key=lambda run: -run.y)
    groups: list[list[_Run]] = []
    for run in ordered:
        if groups and abs(groups[-1][0].y - run.y) <= 0.4 * max(run.size, groups[-1][0].size):
            groups[-1].append(run)
        else:
            groups.append([run])
    return groups


def _segments(runs: list[_Run]) -> list[list[_Run]]:
    segments: list[list[_Run]] = []
    for run in runs:
        if segments:
            last = segments[-1][-1]
            if run.x - last.end <= _LINE_GAP_IN_FONT_SIZES * max(run.size, last.size):
                segments[-1].append(run)
                continue
        segments.append([run])
    return segments


def _joined(segment: list[_Run]) -> Iterator[str]:
    for index, run in enumerate(segment):
        if index and not segment[index - 1].text.endswith(" ") and not run.text.startswith(" "):
            # Runs of one word split by a font change abut; runs of different words leave a gap.
            yield "" if run.x - segment[index - 1].end < 0.15 * run.size else " "
        yield run.text


def _top_to_bottom(lines: list[Line]) -> list[Line]:
    return sorted(
        lines, key=lambda line: (line.geometry.top, line.geometry.left) if line.geometry else (2.0, 0.0)
    )


@dataclass
class _Annotations:
    fields: list[FormField]
    selection: list[SelectionElement]
    signatures: list[Signature]
    lines: list[Line]


def _annotations(page: Any, number: int, frame: PageFrame) -> _Annotations:
    found = _Annotations([], [], [], [])
    annots = page.get("/Annots")
    if annots is None:
        return found
    for ref in annots.get_object():
        annotation = ref.get_object()
        if not isinstance(annotation, DictionaryObject):
            continue
        subtype = annotation.get("/Subtype")
        geometry = _rect(annotation, frame)
        if subtype == "/Widget":
            _widget(annotation, number, geometry, found)
        elif subtype in ("/Ink", "/Stamp"):
            kind = "ink_annotation" if subtype == "/Ink" else "stamp_annotation"
            found.signatures.append(
                Signature(page=number, confidence=DIGITAL_CONFIDENCE, geometry=geometry, kind=kind)
            )
        elif subtype == "/FreeText" and str(annotation.get("/Contents", "")).strip():
            found.lines.append(
                Line(
                    page=number,
                    text=" ".join(str(annotation["/Contents"]).split()),
                    confidence=DIGITAL_CONFIDENCE,
                    geometry=geometry,
                )
            )
    return found


def _rect(annotation: DictionaryObject, frame: PageFrame) -> Box | None:
    rect = annotation.get("/Rect")
    if not isinstance(rect, ArrayObject) or len(rect) != 4:
        return None
    x0, y0, x1, y1 = (float(value) for value in rect)
    return frame.box(x0, y0, x1, y1)


def _inherited(annotation: DictionaryObject, key: str) -> Any:
    """A field attribute, from the widget or the nearest field above it (PDF fields inherit /FT, /V, /Ff)."""
    node: Any = annotation
    for _ in range(32):
        if node is None:
            return None
        if key in node:
            return node[key].get_object() if hasattr(node[key], "get_object") else node[key]
        parent = node.get("/Parent")
        node = parent.get_object() if parent is not None else None
    return None


def _qualified_name(annotation: DictionaryObject) -> str:
    names: list[str] = []
    node: Any = annotation
    for _ in range(32):
        if node is None:
            break
        if "/T" in node:
            names.append(str(node["/T"]))
        parent = node.get("/Parent")
        node = parent.get_object() if parent is not None else None
    return ".".join(reversed(names))


def _on_states(annotation: DictionaryObject) -> list[str]:
    """A checkbox's "on" appearance names, from its /AP /N dictionary (the W-9 boxes are /1 to /7)."""
    appearances = annotation.get("/AP")
    normal = appearances.get_object().get("/N") if appearances is not None else None
    normal = normal.get_object() if normal is not None else None
    if not isinstance(normal, DictionaryObject):
        return []
    return [str(name) for name in normal if str(name) != "/Off"]


def _widget(annotation: DictionaryObject, number: int, geometry: Box | None, found: _Annotations) -> None:
    name = _qualified_name(annotation)
    field_type = _inherited(annotation, "/FT")
    flags = int(_inherited(annotation, "/Ff") or 0)
    value = _inherited(annotation, "/V")
    if field_type == "/Sig":
        if value is not None:
            found.signatures.append(
                Signature(page=number, confidence=DIGITAL_CONFIDENCE, geometry=geometry, kind="digital")
            )
        return
    if field_type == "/Btn":
        if flags & _FF_PUSHBUTTON:
            return
        state = annotation.get("/AS")
        on_states = _on_states(annotation)
        if state is None:  # no appearance state: the field's value says which widget is on
            state = value if value is not None and str(value) in on_states else "/Off"
        selected = str(state) != "/Off"
        found.selection.append(
            SelectionElement(
                page=number, selected=selected, confidence=DIGITAL_CONFIDENCE, geometry=geometry, name=name
            )
        )
        export = str(state).lstrip("/") if selected else ""
        found.fields.append(_field(name, export, number, geometry, selected=selected))
        return
    if field_type in ("/Tx", "/Ch"):
        if isinstance(value, list | ArrayObject):
            text = ", ".join(str(item) for item in value)
        else:
            text = "" if value is None else str(value)
        found.fields.append(_field(name, text, number, geometry, selected=None))


def _field(name: str, value: str, page: int, geometry: Box | None, *, selected: bool | None) -> FormField:
    return FormField(
        page=page,
        key=name,
        value=value.strip(),
        selected=selected,
        confidence=DIGITAL_CONFIDENCE,
        key_confidence=DIGITAL_CONFIDENCE,
        value_confidence=DIGITAL_CONFIDENCE,
        value_geometry=geometry,
        name=name,
        sensitive=is_sensitive_key(name),
    )


def _has_images(page: Any) -> bool:
    resources = page.get("/Resources")
    return _resources_hold_image(resources.get_object() if resources is not None else None, depth=0)


def _resources_hold_image(resources: Any, *, depth: int) -> bool:
    if not isinstance(resources, DictionaryObject) or depth > 4:
        return False
    xobjects = resources.get("/XObject")
    xobjects = xobjects.get_object() if xobjects is not None else None
    if not isinstance(xobjects, DictionaryObject):
        return False
    for ref in xobjects.values():
        xobject = ref.get_object()
        subtype = xobject.get("/Subtype")
        if subtype == "/Image":
            return True
        if subtype == "/Form":
            inner = xobject.get("/Resources")
            if _resources_hold_image(inner.get_object() if inner is not None else None, depth=depth + 1):
                return True
    return False


# -- Word positions ------------------------------------------------------------------------------------------------


def _with_words(data: bytes, pages: list[Page], pattern: str, warnings: list[str]) -> list[Page]:
    wanted = [page.number for page in pages if re.search(pattern, page.text, re.IGNORECASE)]
    if not wanted:
        return pages
    # Imported here: pdfminer.six adds about 0.1 s to a cold start that most functions never need.
    from backoffice.extraction.pdf_words import page_words

    try:
        found = dict(zip(wanted, page_words(data, wanted), strict=True))
    except Exception as error:
        warnings.append(f"the positions of the words could not be read: {_describe(error)}")
        return pages
    return [
        page.model_copy(update={"words": found[page.number]}) if page.number in found else page
        for page in pages
    ]
