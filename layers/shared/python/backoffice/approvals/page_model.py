"""What the decision endpoint answers, before it is HTML: the kind of page and its HTTP status, with the request
and link it is about. The service decides the page; ``pages`` renders it. Both import this module, neither the
other's internals, so the service can mail with ``pages`` without a cycle.
"""

from __future__ import annotations

from dataclasses import dataclass

from backoffice.approvals.store import LinkRecord, RequestRecord

# What a person types is capped so that nobody can push the case past an AWS limit: the comment travels in
# SendTaskSuccess's output and the state machine's state (256 KiB each), a Fail state's cause (32,768 characters)
# and DynamoDB items (400 KB). Counted as a browser counts a textarea's maxlength (UTF-16 code units, a line break
# as one), so whatever the page lets a person type is accepted.
COMMENT_MAX_CHARACTERS = 4_000


@dataclass
class Page:
    kind: str
    status: int
    request: RequestRecord | None = None
    link: LinkRecord | None = None
    csrf: str | None = None
    message: str | None = None
