"""Admin: operator accounts (argon2id), sessions, roles, lockout, and the audit trail."""
