"""`galaxy-engine`: the HTTP server, and a game run from files in the GalaxyNG tradition.

    galaxy-engine serve --data DIR [--port 8080] [--host ADDR]
    galaxy-engine new --data DIR --seed N --players players.json [--settings settings.json]
    galaxy-engine orders --data DIR --player ID FILE        (FILE may be - for stdin)
    galaxy-engine run-turn --data DIR
    galaxy-engine report --data DIR --player ID --turn N [--format text|json]
    galaxy-engine status --data DIR
    galaxy-engine bot --data DIR --player ID
    galaxy-engine settings                                   (the settings schema)

Every command with --data also takes --keep-states N (default: $GALAXY_ENGINE_KEEP_STATES,
else 3): the last N turns keep their full state; older turns keep only their reports,
packed (0 keeps everything).

Exit codes: 0 done; 1 orders stored with errors, or the server failed; 2 the request
was refused (bad arguments, bad state, missing token).
"""

import argparse
import json
import logging
import os
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from galaxy_engine.bots import orders_for
from galaxy_engine.game import EngineError, GameService
from galaxy_engine.server import EngineApp, run
from galaxy_engine.settings import settings_schema
from galaxy_engine.store import DEFAULT_KEEP_STATES, StoreBusy
from galaxy_engine.version import ENGINE_VERSION

TOKEN_VARIABLE = "GALAXY_ENGINE_ADMIN_TOKEN"  # noqa: S105 - a variable name, not a secret
TOKEN_FILE_VARIABLE = "GALAXY_ENGINE_ADMIN_TOKEN_FILE"  # noqa: S105 - a variable name
DELAY_VARIABLE = "GALAXY_ENGINE_TEST_TURN_DELAY"
KEEP_VARIABLE = "GALAXY_ENGINE_KEEP_STATES"
TOKEN_MIN = 16


class JsonLogFormatter(logging.Formatter):
    """One JSON object per line on stderr."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonLogFormatter())
    root = logging.getLogger("galaxy_engine")
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    root.propagate = False


class Refusal(Exception):
    """A CLI request that cannot be carried out; exit code 2."""


def _print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n")


def _print_verdict(verdict: dict[str, Any]) -> int:
    """The verdict on submitted orders, without the forecast; exit 1 if any line was refused."""
    _print_json({k: verdict[k] for k in ("accepted", "turn", "errors", "warnings")})
    return 0 if verdict["accepted"] else 1


def _read_json(path: str, what: str) -> Any:
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError) as problem:
        raise Refusal(f"cannot read {what} from {path}: {problem}") from None


def _keep_states(args: argparse.Namespace) -> int:
    """--keep-states, else $GALAXY_ENGINE_KEEP_STATES, else the default; Refusal if bad."""
    raw = args.keep_states
    if raw is None:
        raw = os.environ.get(KEEP_VARIABLE, "").strip() or str(DEFAULT_KEEP_STATES)
    try:
        keep = int(raw)
    except ValueError:
        keep = -1
    if keep < 0:
        raise Refusal(f"--keep-states / {KEEP_VARIABLE} must be a whole number >= 0, not {raw!r}")
    return keep


def _service(args: argparse.Namespace) -> GameService:
    service = GameService(Path(args.data), keep_states=_keep_states(args))
    try:
        service.open()
    except StoreBusy as busy:
        raise Refusal(str(busy)) from None
    return service


def _admin_token() -> str:
    """The token from the file GALAXY_ENGINE_ADMIN_TOKEN_FILE names (kept out of the
    environment, which a container's config shows), else GALAXY_ENGINE_ADMIN_TOKEN."""
    path = os.environ.get(TOKEN_FILE_VARIABLE)
    if not path:
        return os.environ.get(TOKEN_VARIABLE, "")
    try:
        return Path(path).read_text().strip()
    except OSError as problem:
        raise Refusal(f"cannot read {TOKEN_FILE_VARIABLE} ({path}): {problem}") from None


def _cmd_serve(args: argparse.Namespace) -> int:
    try:
        token = _admin_token()
    except Refusal as refusal:
        sys.stderr.write(f"galaxy-engine: {refusal}\n")
        return 2
    if len(token) < TOKEN_MIN:
        sys.stderr.write(
            f"galaxy-engine: set {TOKEN_VARIABLE} (or {TOKEN_FILE_VARIABLE}) to a secret of at"
            f" least {TOKEN_MIN} characters; the engine does not start without one\n"
        )
        return 2
    try:
        delay = float(os.environ.get(DELAY_VARIABLE, "0") or "0")
    except ValueError:
        sys.stderr.write(f"galaxy-engine: {DELAY_VARIABLE} must be a number of seconds\n")
        return 2
    try:
        keep = _keep_states(args)
    except Refusal as problem:
        sys.stderr.write(f"galaxy-engine: {problem}\n")
        return 2
    service = GameService(Path(args.data), turn_delay=delay, keep_states=keep)
    try:
        service.open()
    except (StoreBusy, OSError) as problem:
        sys.stderr.write(f"galaxy-engine: cannot use the data directory: {problem}\n")
        return 2
    try:
        return run(EngineApp(service, token), args.host, args.port)
    except OSError as problem:
        sys.stderr.write(f"galaxy-engine: cannot listen on port {args.port}: {problem}\n")
        return 1
    finally:
        service.close()


def _cmd_new(args: argparse.Namespace) -> int:
    players = _read_json(args.players, "players")
    if isinstance(players, dict):
        players = players.get("players")
    settings = _read_json(args.settings, "settings") if args.settings else {}
    service = _service(args)
    try:
        body = {
            "game_id": args.game_id,
            "seed": args.seed,
            "settings": settings,
            "players": players,
        }
        _print_json(service.init(body))
    finally:
        service.close()
    return 0


def _cmd_orders(args: argparse.Namespace) -> int:
    text = sys.stdin.read() if args.file == "-" else Path(args.file).read_text()
    service = _service(args)
    try:
        verdict = service.submit_orders(args.player, args.turn, text)
    finally:
        service.close()
    return _print_verdict(verdict)


def _cmd_run_turn(args: argparse.Namespace) -> int:
    service = _service(args)
    try:
        turn = service.status()["turn"] + 1 if args.turn is None else args.turn
        _print_json(json.loads(service.run_turn(turn)))
    finally:
        service.close()
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    service = _service(args)
    try:
        turn = service.status()["turn"] if args.turn is None else args.turn
        data = service.report(args.player, turn, args.format)
    finally:
        service.close()
    if args.format == "json":
        _print_json(json.loads(data))
    else:
        sys.stdout.write(data.decode())
    return 0


def _cmd_status(args: argparse.Namespace) -> int:
    service = _service(args)
    try:
        _print_json(service.status())
    finally:
        service.close()
    return 0


def _cmd_bot(args: argparse.Namespace) -> int:
    service = _service(args)
    try:
        turn = service.status()["turn"]
        report = json.loads(service.report(args.player, turn, "json"))
        verdict = service.submit_orders(args.player, turn + 1, orders_for(report))
    finally:
        service.close()
    return _print_verdict(verdict)


def _cmd_settings(args: argparse.Namespace) -> int:
    _print_json(settings_schema())
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="galaxy-engine", description="The Galaxy game engine.")
    parser.add_argument("--version", action="version", version=ENGINE_VERSION)
    parser.add_argument("--log-level", default="info", choices=["debug", "info", "warning"])
    commands = parser.add_subparsers(dest="command", required=True)

    def command(name: str, handler: Callable[[argparse.Namespace], int], text: str) -> Any:
        sub = commands.add_parser(name, help=text, description=text)
        sub.set_defaults(handler=handler)
        if name != "settings":
            sub.add_argument("--data", required=True, help="the game's data directory")
            sub.add_argument(
                "--keep-states",
                default=None,
                metavar="N",
                help=f"turns that keep their full state (default ${KEEP_VARIABLE}, else "
                f"{DEFAULT_KEEP_STATES}; 0: all)",
            )
        return sub

    serve = command("serve", _cmd_serve, "run the HTTP server of the engine contract")
    serve.add_argument("--port", type=int, default=8080)
    serve.add_argument("--host", default=None, help="default: every IPv6 and IPv4 address")
    new = command("new", _cmd_new, "create a game (like POST /admin/init)")
    new.add_argument("--seed", type=int, required=True)
    new.add_argument("--players", required=True, help='JSON: [{"player_id","race_name"}]')
    new.add_argument("--settings", help="JSON object of settings")
    new.add_argument("--game-id", default="local")
    orders = command("orders", _cmd_orders, "submit a player's orders for the next turn")
    orders.add_argument("--player", required=True)
    orders.add_argument("--turn", type=int, default=None)
    orders.add_argument("file", help="orders file, - for stdin")
    run_turn = command("run-turn", _cmd_run_turn, "run the next turn")
    run_turn.add_argument("--turn", type=int, default=None, help="default: the next turn")
    report = command("report", _cmd_report, "print a player's report")
    report.add_argument("--player", required=True)
    report.add_argument("--turn", type=int, default=None, help="default: the latest turn")
    report.add_argument("--format", choices=["text", "json"], default="text")
    command("status", _cmd_status, "print the game's status")
    bot = command("bot", _cmd_bot, "write the reference bot's orders for a player")
    bot.add_argument("--player", required=True)
    command("settings", _cmd_settings, "print the settings schema")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    configure_logging(args.log_level if args.command == "serve" else "warning")
    try:
        return int(args.handler(args))
    except EngineError as problem:
        sys.stderr.write(f"galaxy-engine: {problem.code}: {problem.message}\n")
        if problem.details:
            sys.stderr.write(json.dumps(problem.details, indent=2) + "\n")
        return 2
    except (Refusal, OSError) as problem:
        sys.stderr.write(f"galaxy-engine: {problem}\n")
        return 2
