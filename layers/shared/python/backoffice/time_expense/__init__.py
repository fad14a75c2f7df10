"""Time and expense as it happens (#21): each week's submissions scored and routed when they arrive (the weekly
review, ``review.py``), the decisions kept per line (``decisions.py``) so the month-end billing run does not review
again what was settled in the week, and missing timesheets chased (the reminders)."""
