"""The audit trail of operator actions, a neutral home that every domain writes to inside
its own transactions and the admin API reads."""

from galaxy_backend.audit.trail import Actor, AuditEntry, entries, record

__all__ = ["Actor", "AuditEntry", "entries", "record"]
