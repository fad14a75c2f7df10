"""Delivery measured each month: people's capacity, hours and standard value (utilization) and projects' work in
progress, recorded on the audit trail for the process report's management numbers (issue #20)."""
