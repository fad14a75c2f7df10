"""Hostile values and an HTML reader for the escaping tests of every template family (pages, e-mails, report)."""

from __future__ import annotations

from html.parser import HTMLParser

HOSTILE = "<script>alert('x')</script> \"quoted\" & 'single' <img src=x onerror=alert(1)>"
HOSTILE_URL = "javascript:alert(document.cookie)//"


class Parsed(HTMLParser):
    """The tags, attribute values and text a browser would see."""

    def __init__(self, document: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attributes: list[tuple[str, str, str]] = []
        self.text = ""
        self.feed(document)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attributes += [(tag, name, value or "") for name, value in attrs]

    def handle_data(self, data: str) -> None:
        self.text += data


def assert_shown_as_text_only(document: str, expected_tags: set[str]) -> Parsed:
    parsed = Parsed(document)
    # No tag or attribute came from the data: only the template's own elements, no event handler anywhere
    assert set(parsed.tags) <= expected_tags, set(parsed.tags) - expected_tags
    assert not [name for _, name, _ in parsed.attributes if name.startswith("on")]
    # The hostile text is there, as text, and never raw in the bytes
    assert HOSTILE in parsed.text
    assert "<script" not in document and "<img" not in document
    # No link or form leads to a script
    targets = [value for _, name, value in parsed.attributes if name in ("href", "action", "src")]
    assert not [target for target in targets if "javascript:" in target.lower()]
    return parsed
