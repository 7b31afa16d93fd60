"""The audit trail: every operator action, written in the same transaction as its effect,
and read back newest first. The one owner of `admin_audit`."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from galaxy_backend.kernel.principal import Principal
from galaxy_backend.postgres import Connection


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    admin_username: str
    action: str
    target_type: str | None
    target_id: str | None
    details: dict[str, object]
    client_ip: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Actor:
    """Who did it, from where: built from the admin principal of the request (or, for the
    CLI on the server itself, no account)."""

    admin_id: str | None
    username: str
    client_ip: str | None

    @classmethod
    def of(cls, principal: Principal, client_ip: str | None) -> "Actor":
        return cls(
            admin_id=principal.subject,
            username=str(principal.attributes.get("username", principal.subject)),
            client_ip=client_ip,
        )


async def write_audit(
    conn: Connection,
    actor: Actor,
    action: str,
    *,
    target_type: str | None = None,
    target_id: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Append one audit row; call it inside the transaction that makes the change."""
    await conn.execute(
        """
        INSERT INTO admin_audit
            (admin_id, admin_username, action, target_type, target_id, details, client_ip)
        VALUES ($1, $2, $3, $4, $5, $6, $7)
        """,
        actor.admin_id,
        actor.username,
        action,
        target_type,
        target_id,
        details or {},
        actor.client_ip,
    )


async def entries(
    conn: Connection,
    *,
    before: int | None,
    limit: int,
    operator: str | None = None,
    action: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[AuditEntry]:
    """Newest first; by operator (their username), action (a prefix: `user.` is every
    action on players) and time (`since` inclusive, `until` exclusive)."""
    prefix = None
    if action:
        prefix = action.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    rows = await conn.fetch(
        """
        SELECT id, admin_username, action, target_type, target_id, details,
               host(client_ip) AS client_ip, created_at
        FROM admin_audit
        WHERE ($1::bigint IS NULL OR id < $1)
          AND ($3::text IS NULL OR lower(admin_username) = lower($3))
          AND ($4::text IS NULL OR action LIKE $4)
          AND ($5::timestamptz IS NULL OR created_at >= $5)
          AND ($6::timestamptz IS NULL OR created_at < $6)
        ORDER BY id DESC
        LIMIT $2
        """,
        before,
        limit,
        operator,
        prefix,
        since,
        until,
    )
    return [
        AuditEntry(
            id=row["id"],
            admin_username=row["admin_username"],
            action=row["action"],
            target_type=row["target_type"],
            target_id=row["target_id"],
            details=row["details"],
            client_ip=row["client_ip"],
            created_at=row["created_at"],
        )
        for row in rows
    ]
