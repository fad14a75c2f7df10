"""A small PDF writer for the sample documents the demo and the tests send through the workflows.

Dev-only: the SOW samples (``backoffice.onboarding.sample_sow``) and the vendor documents
(``backoffice.vendors.sample_documents``) use it, no handler reaches it, so the Lambda layer leaves it behind
(``tests/unit/test_layer_contents.py``). Standard Helvetica and Helvetica-Bold (not embedded), US Letter, PDF 1.4:
nothing new to install, and a text layer pypdf and the embedded reader (``backoffice.extraction``) read back.

Two layouts share one file writer:

- ``flowing_pdf``: paragraphs (``Block``) wrapped to the page width over as many pages as they need, a heading
  kept with the line after it, a "Page N of M" footer (statements of work, bank letters);
- ``positioned_pdf``: one page of runs of text, each at its own position (``TextRun``), for documents with
  columns (the certificate of insurance).

Deterministic: no creation date, so the same input gives the same bytes and a document's SHA-256 is stable.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "PAGE_HEIGHT",
    "PAGE_WIDTH",
    "Block",
    "Style",
    "TextRun",
    "flowing_pdf",
    "pdf_string",
    "positioned_pdf",
    "text_width",
    "wrap",
]

PAGE_WIDTH, PAGE_HEIGHT = 612, 792  # US Letter, in points

Style = Literal["title", "subtitle", "heading", "body", "line"]


@dataclass(frozen=True)
class Block:
    """A paragraph of the document: body text wraps; a heading stays with what follows it."""

    style: Style
    text: str


@dataclass(frozen=True)
class TextRun:
    """One run of text with its baseline's left end, in PDF points from the bottom left of the page."""

    x: float
    y: float
    text: str
    size: float = 8.0
    bold: bool = False


# ------------------------------------------------------------------------------------------------------------
# Measuring and writing text
# ------------------------------------------------------------------------------------------------------------

# Helvetica advance widths (1/1000 em) for the printable ASCII characters 32-126, from Adobe's AFM.
_HELVETICA_WIDTHS = (
    [278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278]
    + [556] * 10
    + [278, 278, 584, 584, 584, 556, 1015, 667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833]
    + [722, 778, 667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 278, 278, 278, 469, 556, 333]
    + [556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, 556, 556, 556, 556, 333, 500, 278]
    + [556, 500, 722, 500, 500, 500, 334, 260, 334, 584]
)
_BOLD_WIDTH_FACTOR = 1.08  # Helvetica-Bold runs about this much wider; headings are short


def text_width(text: str, size: float, *, bold: bool = False) -> float:
    """Width in points of ``text`` set in Helvetica at ``size``."""
    units = sum(_HELVETICA_WIDTHS[ord(c) - 32] if 32 <= ord(c) <= 126 else 556 for c in text)
    return units * size / 1000 * (_BOLD_WIDTH_FACTOR if bold else 1)


def wrap(text: str, width: float, size: float, *, bold: bool = False) -> list[str]:
    """Words into lines no wider than ``width``; a word longer than a line is cut where it must be."""
    lines: list[str] = []
    current = ""
    for word in text.split(" "):
        candidate = f"{current} {word}" if current else word
        if text_width(candidate, size, bold=bold) <= width or not current:
            current = candidate
        else:
            lines.append(current)
            current = word
        while text_width(current, size, bold=bold) > width and len(current) > 1:
            cut = len(current)
            while cut > 1 and text_width(current[:cut], size, bold=bold) > width:
                cut -= 1
            lines.append(current[:cut])
            current = current[cut:]
    if current:
        lines.append(current)
    return lines


def pdf_string(text: str) -> str:
    """A PDF literal string in WinAnsi: ``(``, ``)`` and ``\\`` escaped, bytes above ASCII as octal."""
    out = []
    for byte in text.encode("cp1252", errors="replace"):
        char = chr(byte)
        if char in "\\()":
            out.append("\\" + char)
        elif 32 <= byte < 127:
            out.append(char)
        else:
            out.append(f"\\{byte:03o}")
    return "(" + "".join(out) + ")"


# ------------------------------------------------------------------------------------------------------------
# Flowing paragraphs: wrapped lines, several pages, a page footer
# ------------------------------------------------------------------------------------------------------------

_FLOW_MARGIN = 72  # one inch
_STYLES: dict[Style, tuple[str, float, float]] = {  # font resource, size, space before
    "title": ("F2", 16, 0),
    "subtitle": ("F2", 12, 4),
    "heading": ("F2", 11, 10),
    "body": ("F1", 10, 4),
    "line": ("F1", 10, 2),
}


def _layout(blocks: Sequence[Block]) -> list[list[tuple[str, float, float, str]]]:
    """Blocks into pages of (font, size, y, text) lines, breaking pages so a heading keeps its next line."""
    width = PAGE_WIDTH - 2 * _FLOW_MARGIN
    top, bottom = PAGE_HEIGHT - _FLOW_MARGIN, _FLOW_MARGIN
    pages: list[list[tuple[str, float, float, str]]] = [[]]
    y: float = top
    for index, block in enumerate(blocks):
        font, size, before = _STYLES[block.style]
        leading = size * 1.35
        lines = wrap(block.text, width, size, bold=font == "F2")
        needed = len(lines[:2]) * leading + before
        if block.style == "heading" and index + 1 < len(blocks):
            needed += 2 * leading  # never a heading alone at the foot of a page
        if y - needed < bottom and pages[-1]:
            pages.append([])
            y = top
        elif pages[-1]:
            y -= before
        for line in lines:
            if y - leading < bottom:
                pages.append([])
                y = top
            y -= leading
            pages[-1].append((font, size, y, line))
    return pages


def flowing_pdf(blocks: Sequence[Block], *, title: str, producer: str) -> bytes:
    """The blocks laid out on as many pages as they need, one-inch margins, each page with a
    "Page N of M" footer; ``title`` and ``producer`` go in the document information."""
    pages = _layout(blocks)
    streams = []
    for number, lines in enumerate(pages, start=1):
        operations = [
            f"BT /{font} {size:g} Tf {_FLOW_MARGIN} {y:.2f} Td {pdf_string(text)} Tj ET"
            for font, size, y, text in lines
        ]
        footer = f"Page {number} of {len(pages)}"
        operations.append(f"BT /F1 8 Tf {_FLOW_MARGIN} {_FLOW_MARGIN / 2:.2f} Td {pdf_string(footer)} Tj ET")
        streams.append("\n".join(operations).encode("ascii"))
    return _pdf_file(streams, title=title, producer=producer, glyph_widths=False)


# ------------------------------------------------------------------------------------------------------------
# Positioned runs: one page of text placed where the layout says
# ------------------------------------------------------------------------------------------------------------


def positioned_pdf(runs: Sequence[TextRun], *, title: str, producer: str) -> bytes:
    """One page of the runs, each where it says. The fonts carry their glyph widths, so a reader measures the
    runs (and so tells columns apart) as they are printed."""
    operations = [
        f"BT /{'F2' if run.bold else 'F1'} {run.size:g} Tf {run.x:.2f} {run.y:.2f} Td {pdf_string(run.text)} Tj ET"
        for run in runs
    ]
    return _pdf_file(
        ["\n".join(operations).encode("ascii")], title=title, producer=producer, glyph_widths=True
    )


# ------------------------------------------------------------------------------------------------------------
# The file: objects, cross-reference table, trailer
# ------------------------------------------------------------------------------------------------------------


def _font(base: str, *, bold: bool, glyph_widths: bool) -> bytes:
    entries = f"/Type /Font /Subtype /Type1 /BaseFont /{base} /Encoding /WinAnsiEncoding"
    if glyph_widths:
        widths = " ".join(f"{text_width(chr(code), 1000, bold=bold):.0f}" for code in range(32, 127))
        entries += f" /FirstChar 32 /LastChar 126 /Widths [{widths}]"
    return f"<< {entries} >>".encode("ascii")


def _pdf_file(streams: Sequence[bytes], *, title: str, producer: str, glyph_widths: bool) -> bytes:
    """A PDF 1.4 file with one page per content stream: 1 the catalog, 2 the page tree, 3 and 4 the fonts
    (F1 Helvetica, F2 Helvetica-Bold), 5 the document information, then each page's content and page."""
    objects: list[bytes] = [b"", b""]  # 1: catalog, 2: page tree; filled in once the pages are known
    objects.append(_font("Helvetica", bold=False, glyph_widths=glyph_widths))
    objects.append(_font("Helvetica-Bold", bold=True, glyph_widths=glyph_widths))
    objects.append(f"<< /Title {pdf_string(title)} /Producer {pdf_string(producer)} >>".encode("latin-1"))
    kids = []
    for stream in streams:
        objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
        content_id = len(objects)
        objects.append(
            (
                f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {PAGE_WIDTH} {PAGE_HEIGHT}] "
                f"/Resources << /Font << /F1 3 0 R /F2 4 0 R >> >> /Contents {content_id} 0 R >>"
            ).encode("ascii")
        )
        kids.append(len(objects))
    objects[0] = b"<< /Type /Catalog /Pages 2 0 R >>"
    objects[1] = (
        f"<< /Type /Pages /Kids [{' '.join(f'{k} 0 R' for k in kids)}] /Count {len(kids)} >>".encode()
    )

    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")  # the binary comment tells tools the file is binary
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R /Info 5 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)
