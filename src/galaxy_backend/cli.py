"""`galaxy-backend serve | migrate | check-config | admin <verb> | engines stop`."""

import argparse
import dataclasses
import getpass
import os
import shlex
import sys
from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING
from uuid import UUID

import uvloop
from pydantic import SecretStr

from galaxy_backend import __version__
from galaxy_backend.admin.models import ROLES
from galaxy_backend.config import SECRET_FIELDS, Config, ConfigError, env_name, load_from_env
from galaxy_backend.config import unknown_variables as find_unknown_variables
from galaxy_backend.cronutil import Schedule
from galaxy_backend.kernel.durations import format_duration
from galaxy_backend.telemetry import configure_logging, get_logger

if TYPE_CHECKING:
    from galaxy_backend.postgres import Database

EXIT_CONFIG = 2

_log = get_logger(__name__)


def _load_config() -> Config | None:
    try:
        return load_from_env()
    except ConfigError as exc:
        print(f"galaxy-backend: {exc}", file=sys.stderr)
        return None


def _warn_unknown_variables() -> None:
    unknown = find_unknown_variables()
    if unknown:
        _log.warning("unknown BACKEND_* variables ignored", variables=unknown)


def serve(config: Config) -> int:
    from galaxy_backend.wiring import build_backend  # noqa: PLC0415 - keeps `--help` fast

    async def main() -> int:
        backend = build_backend(config)
        return await backend.app.run()

    _log.info("galaxy-backend starting", version=__version__)
    code = uvloop.run(main())
    _log.info("galaxy-backend exited", exit_code=code)
    return code


def small_database(config: Config) -> "Database":
    """A two-connection pool for one-off commands (migrate, admin create)."""
    from galaxy_backend.builders import build_database  # noqa: PLC0415

    return build_database(dataclasses.replace(config.postgres, pool_size=2), config.data_dir)


def migrate(config: Config) -> int:
    from galaxy_backend.postgres import apply_migrations  # noqa: PLC0415

    async def main() -> int:
        database = small_database(config)
        await database.start()
        try:
            applied = await apply_migrations(database.pool)
        finally:
            await database.stop()
        _log.info("migrations done", applied=applied)
        return 0

    return uvloop.run(main())


def _read_password() -> str:
    """From stdin, so that it never sits in shell history or a process listing."""
    if sys.stdin.isatty():
        return getpass.getpass("password: ")
    return sys.stdin.readline().rstrip("\r\n")


def _cli_operator() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def admin_command(config: Config, args: argparse.Namespace) -> int:
    """`admin create|list|disable|enable|role|password`, audited as the CLI's user."""
    from galaxy_backend.admin.service import AdminService  # noqa: PLC0415
    from galaxy_backend.audit.trail import Actor  # noqa: PLC0415
    from galaxy_backend.builders import build_admin  # noqa: PLC0415
    from galaxy_backend.kernel.cachebus import CacheBus  # noqa: PLC0415
    from galaxy_backend.kernel.errors import DomainError  # noqa: PLC0415
    from galaxy_backend.postgres import apply_migrations  # noqa: PLC0415

    command = args.admin_command
    password = _read_password() if command in ("create", "password") else ""
    actor = Actor(admin_id=None, username=_cli_operator(), client_ip=None)

    async def run(service: AdminService) -> str:
        if command == "create":
            made = await service.create_admin(args.username, password, args.role, actor=actor)
            return f"created {made.role} {made.username} ({made.id})"
        if command == "list":
            lines, cursor = [], None
            while True:
                page, cursor = await service.operators(cursor=cursor, limit=200)
                lines += [
                    f"{a.username}\t{a.role}\t{'disabled' if a.disabled_at else 'enabled'}"
                    f"\t{a.last_login_at.isoformat() if a.last_login_at else '-'}"
                    for a in page
                ]
                if cursor is None:
                    return "\n".join(lines)
        target = await service.operator_named(args.username)
        if command == "disable":
            changed = await service.disable(target.id, actor)
        elif command == "enable":
            changed = await service.enable(target.id, actor)
        elif command == "role":
            changed = await service.set_role(target.id, args.role, actor)
        else:
            changed = await service.set_password(target.id, password, actor)
        state = "disabled" if changed.disabled_at else "enabled"
        return f"{command}: {changed.username} is an {state} {changed.role}"

    async def main() -> int:
        database = small_database(config)
        await database.start()
        try:
            await apply_migrations(database.pool)
            service = build_admin(config.admin, database, CacheBus(dsn_provider=database.connect))
            try:
                print(await run(service))
            except DomainError as exc:
                print(f"galaxy-backend: {exc.message}", file=sys.stderr)
                return 1
            return 0
        finally:
            await database.stop()

    return uvloop.run(main())


def engines_stop(config: Config, game_ids: Sequence[UUID]) -> int:
    """Stop the game engines this platform started, under the driver `serve` would choose
    (they outlive the backend on purpose); only those of `game_ids` when given."""
    from galaxy_backend.runtime.drivers.base import DriverError  # noqa: PLC0415
    from galaxy_backend.runtime.drivers.selection import choose_driver  # noqa: PLC0415

    async def main() -> int:
        driver = await choose_driver(
            driver=config.runtime_driver,
            docker_host=config.docker_host,
            docker_network=config.runtime_docker_network,
            data_dir=config.data_dir,
        )
        stopped = 0
        try:
            for engine in await driver.list_labelled():
                if engine.state != "running" or (game_ids and engine.game_id not in game_ids):
                    continue
                await driver.stop(engine.game_id)
                print(f"stopped the engine of game {engine.game_id}")
                stopped += 1
        except DriverError as exc:
            print(f"galaxy-backend: {exc}", file=sys.stderr)
            return 1
        finally:
            await driver.close()
        print(f"{stopped} engine(s) stopped ({driver.name} driver)")
        return 0

    return uvloop.run(main())


def env_value(value: object) -> str:
    """A setting as one writes it in its BACKEND_* variable, the form the loader reads back."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, timedelta):
        return format_duration(value)
    if isinstance(value, Schedule):
        return value.text
    if isinstance(value, tuple):
        return ",".join(str(item) for item in value)
    return str(value)


def check_config(config: Config) -> int:
    """Print every variable's effective value, quoted so the output can be sourced."""
    for name in Config.model_fields:
        value = getattr(config, name)
        if value is not None and (name in SECRET_FIELDS or isinstance(value, SecretStr)):
            # Commented out: sourcing the output must not set a secret to the placeholder.
            print(f"# {env_name(name)}=(set)")
            continue
        text = env_value(value)
        print(f"{env_name(name)}={shlex.quote(text) if text else ''}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="galaxy-backend", description=__doc__)
    parser.add_argument("--version", action="version", version=__version__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("serve", help="run the backend until SIGINT/SIGTERM")
    commands.add_parser("migrate", help="apply database migrations and exit")
    commands.add_parser("check-config", help="validate BACKEND_* variables and print them")
    admin = commands.add_parser("admin", help="operator accounts (every change audited)")
    admin_commands = admin.add_subparsers(dest="admin_command", required=True)
    create = admin_commands.add_parser("create", help="create an operator (password on stdin)")
    create.add_argument("--username", required=True)
    create.add_argument("--role", choices=ROLES, default="admin")
    admin_commands.add_parser("list", help="every operator, newest first")
    for verb, text in (
        ("disable", "disable an operator: every session of theirs ends at once"),
        ("enable", "enable an operator again"),
        ("password", "set an operator's password (on stdin); their sessions end"),
    ):
        admin_commands.add_parser(verb, help=text).add_argument("--username", required=True)
    role = admin_commands.add_parser("role", help="change an operator's role")
    role.add_argument("--username", required=True)
    role.add_argument("--role", choices=ROLES, required=True)
    engines = commands.add_parser("engines", help="the game engines on this machine")
    engines_commands = engines.add_subparsers(dest="engines_command", required=True)
    stop = engines_commands.add_parser(
        "stop",
        help="stop the running game engines (they outlive the backend on purpose); "
        "their games carry on when a backend starts them again",
    )
    stop.add_argument("game_ids", nargs="*", type=UUID, metavar="GAME_ID", help="only these")
    args = parser.parse_args(argv)

    config = _load_config()
    if config is None:
        return EXIT_CONFIG
    level = config.log_level
    if args.command in ("admin", "engines") and "BACKEND_LOG_LEVEL" not in os.environ:
        # One-shot commands print their outcome; routine lines (a migration applied, the
        # embedded server up) would bury it. Warnings and errors still show.
        level = "warning"
    configure_logging(level, config.log_format)
    _warn_unknown_variables()
    if args.command == "serve":
        return serve(config)
    if args.command == "migrate":
        return migrate(config)
    if args.command == "admin":
        return admin_command(config, args)
    if args.command == "engines":
        return engines_stop(config, args.game_ids)
    return check_config(config)


def run() -> None:
    sys.exit(main())


if __name__ == "__main__":
    run()
