"""`galaxy-gateway serve | check-config`."""

import argparse
import resource
import shlex
import sys
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

import uvloop
from pydantic import SecretStr

from galaxy_gateway import __version__
from galaxy_gateway.config import SECRET_FIELDS, Config, ConfigError, env_name, load_from_env
from galaxy_gateway.config import unknown_variables as find_unknown_variables
from galaxy_gateway.durations import format_duration
from galaxy_gateway.telemetry import configure_logging, get_logger

EXIT_CONFIG = 2

_log = get_logger(__name__)


def _raise_open_files_limit(wanted: int) -> None:
    """Every connection is a descriptor: take the soft limit up to the hard one."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and (hard == resource.RLIM_INFINITY or soft < hard):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        soft = hard
    if soft != resource.RLIM_INFINITY and soft < wanted + 256:
        _log.warning(
            "the open-files limit is below GATEWAY_HTTP_MAX_CONNECTIONS",
            limit=soft,
            max_connections=wanted,
        )


def serve(config: Config) -> int:
    from galaxy_gateway.wiring import build_gateway  # noqa: PLC0415 - keeps `--help` fast

    async def main() -> int:
        gateway = build_gateway(config)
        return await gateway.app.run()

    _raise_open_files_limit(config.http_max_connections)
    _log.info("galaxy-gateway starting", version=__version__)
    code = uvloop.run(main())
    _log.info("galaxy-gateway exited", exit_code=code)
    return code


def env_value(value: object) -> str:
    """A setting as one writes it in its GATEWAY_* variable, the form the loader reads back."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, timedelta):
        return format_duration(value)
    if isinstance(value, tuple):
        return ",".join(str(item) for item in value)
    if isinstance(value, Path):
        return str(value)
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
    parser = argparse.ArgumentParser(prog="galaxy-gateway", description=__doc__)
    parser.add_argument("--version", action="version", version=__version__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("serve", help="run the gateway until SIGINT/SIGTERM")
    commands.add_parser("check-config", help="validate GATEWAY_* variables and print them")
    args = parser.parse_args(argv)
    try:
        config = load_from_env()
    except ConfigError as exc:
        print(f"galaxy-gateway: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    configure_logging(config.log_level, config.log_format)
    unknown = find_unknown_variables()
    if unknown:
        _log.warning("unknown GATEWAY_* variables ignored", variables=unknown)
    if args.command == "serve":
        return serve(config)
    return check_config(config)


def run() -> None:
    sys.exit(main())


if __name__ == "__main__":
    run()
