"""A flattened W-9 read by its printed layout: the values of a W-9 "printed to PDF" are page text, not form fields.

A filled fillable W-9 is read from its AcroForm fields (exact, confidence 100). Printed to PDF, the same form
keeps only drawings: each value is text drawn in the blank space of its line, each tick a glyph or a path drawn
in its box, each digit of the TIN in its own cell. This module finds the form's printed labels among the page's
words ("1 Name (as shown on your income tax return)", "Exempt payee code (if any)", "Social security number"...)
and reads each value in the space those labels delimit: below a line's label and above the next one, to the
right of a label on its row, or in a box beside its label. Regions are measured from where the labels are
found, in units of the labels' height, so that a form printed a little shifted or scaled still reads, and a
value drawn a few points off its field still falls in its region.

The words and their positions come from ``Page.words``, which the local extractor keeps (pdfminer.six) for the
form page of a W-9 whose form fields hold no value. Layout is the Rev. October 2018 form, the one whose fillable
version the local runtime ships; a page on which the labels are not found yields nothing (the profile then
reports the fields missing, and a person reads the form).

Confidence: what is read is exact text, but which field it belongs to is inferred from its position, so a clean
read is ``LAYOUT_CONFIDENCE`` (below the AcroForm's 100: tax ids, held to 99, go to a person) and a doubtful one
``DOUBTFUL_LAYOUT_CONFIDENCE``, below every default threshold, so that it goes to review: a value spread over
more rows than its line holds, a tick between two boxes, TIN digits across the cells' dashes, a typed (not
drawn) signature.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from backoffice.extraction.model import Box, NormalizedDocument, PageWords

# The pattern of the W-9's form page (its title), for ``read_pdf(keep_words_on=...)``.
W9_FORM_PAGE = r"request for taxpayer"

LAYOUT_CONFIDENCE = 95.0
DOUBTFUL_LAYOUT_CONFIDENCE = 75.0

# The printed labels, as printed (case kept: "social security number" also occurs in the instructions).
_LABELS = {
    "name": "Name (as shown",
    "business_name": "Business name/disregarded entity",
    "line3": "Check appropriate box for federal",
    "llc_code": "P=Partnership)",
    "other": "Other (see instructions)",
    "exempt": "Exempt payee code (if any)",
    "fatca": "Exemption from FATCA reporting",
    "code_if_any": "code (if any)",
    "address": "Address (number, street,",
    "city": "City, state, and ZIP code",
    "requester": "Requester's name and address",
    "accounts": "List account number(s)",
    "part1": "Taxpayer Identification Number (TIN)",
    "ssn": "Social security number",
    "ein": "Employer identification number",
    "part2": "Part II",
    "signature": "Signature of",
    "date": "Date",
}
# The seven line-3 boxes, by the label printed to the right of each (the first line of a two-line label).
_BOXES = (
    ("Individual/sole proprietor or", "individual_sole_proprietor"),
    ("C Corporation", "c_corporation"),
    ("S Corporation", "s_corporation"),
    ("Partnership", "partnership"),
    ("Trust/estate", "trust_estate"),
    ("Limited liability company.", "llc"),
    ("Other (see instructions)", "other"),
)
# Where a box stands from its label's first word, in label heights: its centre 1.33 to the left, 0.2 higher.
_BOX_LEFT_OF_LABEL = 1.33
_BOX_ABOVE_LABEL = 0.2
# A tick is taken for a box when its centre is this close to the box's centre (the box is 1.15 wide)...
_TICK_REACH = 1.45
# ...and is doubtful beyond this distance, or when another box is nearly as close.
_TICK_CLEAR = 0.9
_TICK_TEXT = frozenset("Xx✓✔✗✘☑☒■●✕✖√")
_TICK_MAX_SIZE = 2.2  # a mark larger than this (in label heights) is not a tick
_ARROWS = frozenset("▶►▸→")
_DASHES = frozenset("\u2013\u2014-")  # en dash, em dash, hyphen
# TIN cells: 3-2-4 digits for an SSN, 2-7 for an EIN, separated by printed dashes.
_TIN_GROUPS = {"ssn": (3, 2, 4), "ein": (2, 7)}


@dataclass(frozen=True)
class LayoutValue:
    value: str
    confidence: float
    page: int


@dataclass
class FlattenedW9:
    """What the printed layout of a W-9's form page holds. ``fields`` by the W-9 profile's field names;
    ``ticked`` the line-3 boxes ticked, in the form's order; ``tins`` the SSN and EIN boxes' contents."""

    page: int
    fields: dict[str, LayoutValue] = field(default_factory=dict)
    ticked: list[LayoutValue] = field(default_factory=list)
    tins: dict[str, LayoutValue] = field(default_factory=dict)
    signature: LayoutValue | None = None
    signature_date: LayoutValue | None = None


@dataclass(frozen=True)
class _Rect:
    """A box in PDF points, origin top left (y grows downwards, as ``Box``)."""

    x0: float
    y0: float
    x1: float
    y1: float

    @property
    def cx(self) -> float:
        return (self.x0 + self.x1) / 2

    @property
    def cy(self) -> float:
        return (self.y0 + self.y1) / 2

    @property
    def height(self) -> float:
        return self.y1 - self.y0

    @property
    def width(self) -> float:
        return self.x1 - self.x0

    def union(self, other: _Rect) -> _Rect:
        return _Rect(
            min(self.x0, other.x0), min(self.y0, other.y0), max(self.x1, other.x1), max(self.y1, other.y1)
        )


@dataclass(frozen=True)
class _Word:
    text: str
    rect: _Rect


def _points(box: Box, words: PageWords) -> _Rect:
    return _Rect(
        box.left * words.width,
        box.top * words.height,
        (box.left + box.width) * words.width,
        (box.top + box.height) * words.height,
    )


def read_flattened_w9(doc: NormalizedDocument) -> FlattenedW9 | None:
    """The W-9 values drawn on the first page whose words hold the form's labels, or None (no such page)."""
    for page in doc.pages:
        if page.words is None:
            continue
        words = [_Word(word.text, _points(word.geometry, page.words)) for word in page.words.words]
        marks = [_points(mark, page.words) for mark in page.words.marks]
        labels = _labels(words)
        if "name" in labels:
            return _Reader(page.number, words, marks, labels, page.words.width).read()
    return None


def _labels(words: list[_Word]) -> dict[str, _Rect]:
    found: dict[str, _Rect] = {}
    for key, phrase in _LABELS.items():
        hits = _find(words, phrase)
        if hits:
            found[key] = hits[0]
    # "code (if any)" ends both exemption labels: the FATCA one is the line below "Exemption from FATCA".
    fatca = found.get("fatca")
    codes = [hit for hit in _find(words, _LABELS["code_if_any"]) if fatca is not None and hit.cy > fatca.cy]
    found.pop("code_if_any", None)
    if fatca is not None and codes:
        found["fatca_code"] = min(codes, key=lambda hit: hit.cy - fatca.cy)
    # "Date" next to the signature, not another one.
    signature, dates = found.get("signature"), _find(words, _LABELS["date"])
    found.pop("date", None)
    if signature is not None:
        row = [
            hit
            for hit in dates
            if abs(hit.cy - signature.cy) <= 3 * signature.height and hit.x0 > signature.x1
        ]
        if row:
            found["date"] = min(row, key=lambda hit: hit.x0)
    return found


def _normalized(text: str) -> str:
    return text.replace("\u2019", "'").replace("\u2018", "'")  # typographic apostrophes


def _find(words: list[_Word], phrase: str) -> list[_Rect]:
    """Where ``phrase`` is printed: its words in a row, left to right, in reading order of the hits."""
    tokens = phrase.split()
    hits: list[_Rect] = []
    for start in words:
        if _normalized(start.text) != tokens[0]:
            continue
        rect, last = start.rect, start
        for token in tokens[1:]:
            following = _next_on_row(words, last, token)
            if following is None:
                break
            rect, last = rect.union(following.rect), following
        else:
            hits.append(rect)
    return sorted(hits, key=lambda hit: (round(hit.y0), hit.x0))


def _next_on_row(words: list[_Word], last: _Word, token: str) -> _Word | None:
    height = last.rect.height
    row = [
        word
        for word in words
        if _normalized(word.text) == token
        and abs(word.rect.cy - last.rect.cy) <= 0.5 * height
        and -0.5 * height <= word.rect.x0 - last.rect.x1 <= 1.5 * height
    ]
    return min(row, key=lambda word: word.rect.x0, default=None)


@dataclass
class _Reader:
    page: int
    words: list[_Word]
    marks: list[_Rect]
    labels: dict[str, _Rect]
    page_width: float

    @property
    def unit(self) -> float:
        """The height of a printed label: every distance is measured in it."""
        return self.labels["name"].height or 7.0

    def read(self) -> FlattenedW9:
        found = FlattenedW9(page=self.page)
        # No right edge: text typed past a field's end is clipped from view but still what the signer typed.
        label, unit, right = self.labels, self.unit, float("inf")
        # Lines whose value fills the space down to the next line's label.
        below = (
            ("name", "name", "business_name", None),
            ("business_name", "business_name", "line3", None),
            ("address", "address", "city", "requester"),
            ("city_state_zip", "city", "accounts", "requester"),
            ("account_numbers", "accounts", "part1", None),
        )
        for name, top, bottom, stop in below:
            if top in label and bottom in label:
                x1 = label[stop].x0 - 0.5 * unit if stop in label else right
                region = _Rect(label[top].x0 - 1.5 * unit, label[top].y1, x1, label[bottom].y0)
                self._text(found, name, region, rows=1)
        if "requester" in label and "accounts" in label:
            region = _Rect(
                label["requester"].x0 - 0.5 * unit, label["requester"].y1, right, label["accounts"].y0
            )
            self._text(found, "requester", region, rows=3)
        # Values on their label's row, to its right (the exemption codes, the LLC's letter, "Other").
        column_end = label["exempt"].x0 - 0.3 * unit if "exempt" in label else right
        beside = (
            ("exempt_payee_code", "exempt", right),
            ("fatca_exemption_code", "fatca_code", right),
            ("llc_tax_classification", "llc_code", column_end),
            ("other_classification", "other", column_end),
        )
        for name, key, x1 in beside:
            if key in label:
                anchor = label[key]
                region = _Rect(anchor.x1, anchor.cy - 1.2 * unit, x1, anchor.cy + 1.2 * unit)
                self._text(found, name, region, rows=1)
        found.ticked = self._ticked()
        for kind, top, bottom in (("ssn", "ssn", "ein"), ("ein", "ein", "part2")):
            if top in label and bottom in label:
                region = _Rect(label[top].x0 - 1.5 * unit, label[top].y1, right, label[bottom].y0)
                tin = self._tin(kind, region)
                if tin is not None:
                    found.tins[kind] = tin
        self._signature(found)
        return found

    # -- Text ----------------------------------------------------------------------------------------------------

    def _inside(self, region: _Rect) -> list[_Word]:
        return [
            word
            for word in self.words
            if region.x0 <= word.rect.cx <= region.x1
            and region.y0 <= word.rect.cy <= region.y1
            and not set(word.text) <= _ARROWS
        ]

    def _text(self, found: FlattenedW9, name: str, region: _Rect, *, rows: int) -> None:
        words = self._inside(region)
        if not words:
            return
        lines = _rows(words)
        # A value spilling over its line's label, or over more rows than the line holds, may be two values.
        spills = any(
            word.rect.y0 < region.y0 - 0.3 * self.unit or word.rect.y1 > region.y1 + 0.3 * self.unit
            for word in words
        )
        doubtful = spills or len(lines) > rows
        # Rows read as one text: a box of several lines wraps what was typed in it.
        found.fields[name] = self._value(" ".join(_joined(line) for line in lines), doubtful=doubtful)

    def _value(self, value: str, *, doubtful: bool) -> LayoutValue:
        return LayoutValue(value, DOUBTFUL_LAYOUT_CONFIDENCE if doubtful else LAYOUT_CONFIDENCE, self.page)

    # -- Line 3 boxes --------------------------------------------------------------------------------------------

    def _ticked(self) -> list[LayoutValue]:
        unit = self.unit
        boxes: list[tuple[str, float, float]] = []
        for phrase, classification in _BOXES:
            hits = _find(self.words, phrase)
            if "line3" in self.labels:  # the box labels are below line 3's label
                hits = [hit for hit in hits if hit.y0 > self.labels["line3"].y1]
            if hits:
                hit = hits[0]
                boxes.append(
                    (classification, hit.x0 - _BOX_LEFT_OF_LABEL * unit, hit.cy - _BOX_ABOVE_LABEL * unit)
                )
        if not boxes:
            return []
        ticks = [mark for mark in self.marks if max(mark.width, mark.height) <= _TICK_MAX_SIZE * unit]
        ticks += [word.rect for word in self.words if word.text.strip() in _TICK_TEXT]
        ticked: dict[str, bool] = {}  # classification -> doubtful
        for tick in ticks:
            distances = sorted(
                (max(abs(tick.cx - x), abs(tick.cy - y)) / unit, classification)
                for classification, x, y in boxes
            )
            nearest, classification = distances[0]
            if nearest > _TICK_REACH:
                continue
            runner_up = distances[1][0] if len(distances) > 1 else float("inf")
            doubtful = nearest > _TICK_CLEAR or runner_up < 1.5 * nearest
            ticked[classification] = ticked.get(classification, True) and doubtful
        return [
            self._value(classification, doubtful=ticked[classification])
            for _, classification in _BOXES
            if classification in ticked
        ]

    # -- Part I: the TIN cells -----------------------------------------------------------------------------------

    def _tin(self, kind: str, region: _Rect) -> LayoutValue | None:
        inside = [word for word in self._inside(region) if word.text != "or"]
        dashes = sorted(word.rect.cx for word in inside if set(word.text) <= _DASHES)
        written = [word for word in inside if not set(word.text) <= _DASHES]
        if not written:
            return None
        text = " ".join(_joined(line) for line in _rows(written))
        compact = re.sub(r"[\s\-\u2013\u2014]", "", text)
        if not compact.isdigit():  # "Applied For", or letters among digits: as written
            return self._value(text, doubtful=False)
        # The digits of each group of cells, the groups being split by the form's printed dashes.
        expected = _TIN_GROUPS[kind]
        groups: list[str] = ["" for _ in range(len(dashes) + 1)]
        for word in sorted(written, key=lambda word: word.rect.x0):
            digits = re.sub(r"\D", "", word.text)
            groups[sum(1 for dash in dashes if dash < word.rect.cx)] += digits
        lengths = tuple(len(group) for group in groups)
        # All the digits there, but not in their cells (4 in the first group, say): which is which is a guess.
        misplaced = len(dashes) == len(expected) - 1 and sum(lengths) == sum(expected) and lengths != expected
        return self._value("".join(groups), doubtful=misplaced)

    # -- Part II -------------------------------------------------------------------------------------------------

    def _signature(self, found: FlattenedW9) -> None:
        label, unit = self.labels, self.unit
        if "signature" not in label or "date" not in label:
            return
        signature, date = label["signature"], label["date"]
        top, bottom = signature.y0 - 1.5 * unit, signature.y1 + 2.2 * unit
        region = _Rect(signature.x1 + 1.2 * unit, top, date.x0 - 0.3 * unit, bottom)
        drawn = [mark for mark in self.marks if _centre_in(mark, region)]
        typed = self._inside(region)
        if drawn:
            found.signature = self._value("present", doubtful=False)
        elif typed:  # a typed name: whether it stands for a signature is for a person to say
            found.signature = self._value("present", doubtful=True)
        dated = self._inside(_Rect(date.x1, date.cy - 1.5 * unit, self.page_width, date.cy + 1.5 * unit))
        if dated:
            found.signature_date = self._value(
                " ".join(_joined(line) for line in _rows(dated)), doubtful=False
            )


def _centre_in(rect: _Rect, region: _Rect) -> bool:
    return region.x0 <= rect.cx <= region.x1 and region.y0 <= rect.cy <= region.y1


def _rows(words: Iterable[_Word]) -> list[list[_Word]]:
    """Words grouped into rows (top to bottom), each row left to right."""
    rows: list[list[_Word]] = []
    for word in sorted(words, key=lambda word: word.rect.cy):
        if rows and word.rect.cy - rows[-1][0].rect.cy <= 0.5 * max(
            word.rect.height, rows[-1][0].rect.height
        ):
            rows[-1].append(word)
        else:
            rows.append([word])
    return [sorted(row, key=lambda word: word.rect.x0) for row in rows]


def _joined(row: list[_Word]) -> str:
    """A row's words as text: a space where they stand apart, none where a word was drawn in pieces."""
    text = row[0].text
    for previous, word in itertools.pairwise(row):
        gap = word.rect.x0 - previous.rect.x1
        text += (" " if gap > 0.15 * max(word.rect.height, previous.rect.height) else "") + word.text
    return " ".join(text.split())


__all__ = [
    "DOUBTFUL_LAYOUT_CONFIDENCE",
    "LAYOUT_CONFIDENCE",
    "W9_FORM_PAGE",
    "FlattenedW9",
    "LayoutValue",
    "read_flattened_w9",
]
