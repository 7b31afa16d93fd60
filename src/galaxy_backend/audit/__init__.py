"""The audit trail of operator actions, a neutral home that every domain writes to inside
its own transactions and the admin API reads."""

from galaxy_backend.audit.trail import Actor, AuditEntry, entries, write_audit

__all__ = ["Actor", "AuditEntry", "entries", "write_audit"]
