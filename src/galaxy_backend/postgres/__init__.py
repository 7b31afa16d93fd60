"""PostgreSQL: the pool component, the embedded server, and advisory-locked migrations."""

from galaxy_backend.postgres.migrate import Migrations, apply_migrations, load_migrations
from galaxy_backend.postgres.pool import Connection, Database, PoolProvider

__all__ = [
    "Connection",
    "Database",
    "Migrations",
    "PoolProvider",
    "apply_migrations",
    "load_migrations",
]
