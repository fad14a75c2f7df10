"""Time and expense review as it happens: weekly submissions scored and routed, missing timesheets chased."""
