"""The audit trail: the AuditEvent type."""
