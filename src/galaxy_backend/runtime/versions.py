"""The registry of engine versions: the one catalogue of what games may run on.

Operators add versions (an image each), choose the default and take versions out; the
bundled engine's version is always installed. The lobby asks `offers()` whenever it checks
a game's version, and the runtime starts a game only on a version still offered.
"""

from galaxy_backend.audit.trail import Actor, write_audit
from galaxy_backend.lobby.models import EngineOffer
from galaxy_backend.postgres import Database, transaction
from galaxy_backend.runtime import repository
from galaxy_backend.runtime.errors import DefaultVersionTakenOut
from galaxy_backend.runtime.models import EngineVersion


class EngineVersions:
    def __init__(self, *, database: Database, default_image: str) -> None:
        self._database = database
        self._default_image = default_image

    async def ensure_bundled(self, version: str) -> None:
        """The bundled engine's version, under BACKEND_RUNTIME_ENGINE_IMAGE (the default
        while no other is)."""
        async with self._database.pool.acquire() as conn:
            await repository.ensure_engine_version(conn, version=version, image=self._default_image)

    async def all(self) -> list[EngineVersion]:
        async with self._database.pool.acquire() as conn:
            return await repository.engine_versions(conn)

    async def offers(self) -> list[EngineOffer]:
        """The versions new games may use: those not taken out."""
        async with self._database.pool.acquire() as conn:
            found = await repository.engine_versions(conn, enabled_only=True)
        return [EngineOffer(version=v.version, default=v.is_default) for v in found]

    async def put(
        self, version: str, *, image: str, is_default: bool, enabled: bool, actor: Actor
    ) -> EngineVersion:
        """Add or change a version; `enabled=False` takes it out of what new games may use
        (never the default's: another must become the default first). Audited."""
        if is_default and not enabled:
            raise DefaultVersionTakenOut()
        async with transaction(self._database) as tx:
            current = await repository.get_engine_version(tx.conn, version, lock=True)
            if not enabled and current is not None and current.is_default:
                raise DefaultVersionTakenOut()
            changed = await repository.put_engine_version(
                tx.conn, version=version, image=image, is_default=is_default, enabled=enabled
            )
            await write_audit(
                tx.conn,
                actor,
                "runtime.engine_version",
                target_type="engine_version",
                target_id=version,
                details={"image": image, "default": is_default, "enabled": enabled},
            )
        return changed
