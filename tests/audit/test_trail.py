"""The audit trail against a real database: written inside the change's transaction, read
back newest first by operator, action prefix, time and page."""

from datetime import UTC, datetime, timedelta

from galaxy_backend.audit.trail import Actor, entries, write_audit
from galaxy_backend.postgres import Database

ADA = Actor(admin_id=None, username="Ada", client_ip="203.0.113.9")
BOB = Actor(admin_id=None, username="bob", client_ip=None)


async def test_entries_filter_by_operator_action_prefix_and_page(database: Database) -> None:
    async with database.pool.acquire() as conn:
        for actor, action in ((ADA, "user.block"), (BOB, "user_x"), (ADA, "admin.login")):
            await write_audit(conn, actor, action, target_type="user", details={"n": action})
        everything = await entries(conn, before=None, limit=10)
        assert [e.action for e in everything] == ["admin.login", "user_x", "user.block"]
        assert everything[-1].client_ip == "203.0.113.9"
        assert everything[-1].details == {"n": "user.block"}
        # An underscore in the prefix is a character, not a wildcard.
        assert [e.action for e in await entries(conn, before=None, limit=10, action="user.")] == [
            "user.block"
        ]
        mine = await entries(conn, before=None, limit=10, operator="ada")
        assert [e.action for e in mine] == ["admin.login", "user.block"]
        page = await entries(conn, before=everything[0].id, limit=1)
        assert [e.action for e in page] == ["user_x"]
        later = datetime.now(UTC) + timedelta(minutes=1)
        assert await entries(conn, before=None, limit=10, since=later) == []
        assert len(await entries(conn, before=None, limit=10, until=later)) == 3


async def test_an_entry_goes_with_its_transaction(database: Database) -> None:
    async with database.pool.acquire() as conn:
        try:
            async with conn.transaction():
                await write_audit(conn, ADA, "user.block")
                raise RuntimeError("the change failed")
        except RuntimeError:
            pass
        assert await entries(conn, before=None, limit=10) == []
