"""The published process report: built weekly from the audit trail, kept in the reports bucket, linked by mail."""
