"""The approver's side of a link, over HTTP: open the link (GET, the confirmation page), then submit the page's
form (POST with its CSRF token and the approver's e-mail), as a person does. No shortcut into the store.

The demos, the command line and the workflow tests all decide this way, so each exercises the real HTTP path.
"""

from __future__ import annotations

import re
import urllib.error
import urllib.parse
import urllib.request


def _http(url: str, data: dict[str, str] | None = None) -> tuple[int, str]:
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    request = urllib.request.Request(
        url,
        data=body,
        method="POST" if data is not None else "GET",
        headers={"User-Agent": "backoffice-cli", "X-Backoffice-Channel": "cli"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return int(response.status), response.read().decode()
    except urllib.error.HTTPError as error:
        return int(error.code), error.read().decode()


def _heading(page: str) -> str:
    match = re.search(r"<h1>(.*?)</h1>", page, re.S)
    return re.sub(r"<[^>]+>", "", match.group(1)).strip() if match else ""


def _paragraph(page: str) -> str:
    match = re.search(r"</h1>\s*<p>(.*?)</p>", page, re.S)
    return re.sub(r"<[^>]+>", "", match.group(1)).strip() if match else ""


def decide_via_http(
    url: str, decision: str, approver: str, comment: str, resolution: str | None = None
) -> tuple[int, str, str]:
    """Open the link, then submit its form (with what is to be done, when the request offers choices). Returns
    (HTTP status, page heading, page text)."""
    status, page = _http(url)
    csrf = re.search(r"name='csrf' value='([^']+)'", page)
    if status != 200 or not csrf:
        return status, _heading(page), _paragraph(page)
    form = {"csrf": csrf.group(1), "decision": decision, "approver": approver, "comment": comment}
    if resolution:
        form["resolution"] = resolution
    status, page = _http(url, form)
    return status, _heading(page), _paragraph(page) or re.sub(r"<[^>]+>", " ", page)[:200]
