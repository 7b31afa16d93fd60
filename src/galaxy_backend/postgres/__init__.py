"""PostgreSQL: the pool component, the embedded server, and advisory-locked migrations."""

from galaxy_backend.postgres.migrate import Migrations, apply_migrations, load_migrations
from galaxy_backend.postgres.pool import DATABASE_ERRORS, Connection, Database, PoolProvider
from galaxy_backend.postgres.transaction import Tx, in_transaction, transaction

__all__ = [
    "DATABASE_ERRORS",
    "Connection",
    "Database",
    "Migrations",
    "PoolProvider",
    "Tx",
    "apply_migrations",
    "in_transaction",
    "load_migrations",
    "transaction",
]
