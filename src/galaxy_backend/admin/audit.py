"""The admin audit trail: every admin action, written in the same transaction as its effect."""

from dataclasses import dataclass
from typing import Any

from galaxy_backend.postgres import Connection
from galaxy_backend.principal import Principal


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


async def record(
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
