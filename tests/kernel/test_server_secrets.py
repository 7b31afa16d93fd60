"""Server secrets: configured ones as is; generated ones shared through the database."""

import asyncio
import stat
from pathlib import Path

from galaxy_backend.kernel.files import write_atomically
from galaxy_backend.kernel.server_secrets import TOKEN_FILE, ServerSecrets
from galaxy_backend.postgres import Database


def secrets_on(database: Database, data_dir: Path, **configured: str) -> ServerSecrets:
    return ServerSecrets(
        database=database,
        data_dir=data_dir,
        secret_key=configured.get("secret_key"),
        internal_token=configured.get("internal_token"),
    )


async def test_configured_secrets_are_used_as_is_and_never_stored(
    database: Database, tmp_path: Path
) -> None:
    secrets = secrets_on(database, tmp_path, secret_key="k" * 40, internal_token="t" * 40)
    await secrets.start()
    assert secrets.secret_key == b"k" * 40
    assert secrets.internal_token == "t" * 40
    assert await database.pool.fetchval("SELECT count(*) FROM generated_secrets") == 0
    assert not (tmp_path / TOKEN_FILE).exists()


async def test_replicas_with_their_own_data_dirs_share_the_generated_secrets(
    database: Database, tmp_path: Path
) -> None:
    replicas = [secrets_on(database, tmp_path / f"replica-{n}") for n in range(4)]
    # Started at the same moment, as replicas of one deployment are.
    await asyncio.gather(*(replica.start() for replica in replicas))
    assert len({replica.secret_key for replica in replicas}) == 1
    assert len({replica.internal_token for replica in replicas}) == 1
    assert len(replicas[0].secret_key) >= 32
    assert replicas[0].secret_key.decode() != replicas[0].internal_token
    token_file = tmp_path / "replica-0" / TOKEN_FILE
    assert token_file.read_text().strip() == replicas[0].internal_token
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600


def test_the_token_file_is_replaced_whole(tmp_path: Path) -> None:
    path = tmp_path / TOKEN_FILE
    write_atomically(path, "first\n")
    write_atomically(path, "second\n")
    assert path.read_text() == "second\n"
    # Nothing half-written is left beside it.
    assert [p.name for p in path.parent.iterdir()] == [TOKEN_FILE]
