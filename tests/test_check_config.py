"""`check-config` prints what one writes in the environment: sourced back, it loads the same."""

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from galaxy_backend.config import SECRET_FIELDS, Config, env_name, load_from_env
from tests.support import backend_env, run_cli

SECRET_VARIABLES = {env_name(name) for name in SECRET_FIELDS}
Load = Callable[[dict[str, str]], Config]
DUMP_ENV = "import json, os; print(json.dumps(dict(os.environ)))"
SOURCE_THEN_DUMP = 'set -a; . "$1"; set +a; exec "$2" -c "$3"'


def non_defaults(tmp_path: Path) -> dict[str, str]:
    """A value other than the default for every variable, in the forms users write."""
    geoip = tmp_path / "GeoLite2 Country.mmdb"
    geoip.write_bytes(b"only its existence is checked")
    return {
        "BACKEND_HTTP_ADDR": "127.0.0.1:9080",
        "BACKEND_GRPC_PUSH_ADDR": "[::1]:9081",
        "BACKEND_METRICS_ADDR": ":9090",
        "BACKEND_HTTP_MAX_BODY_BYTES": "2048",
        "BACKEND_POSTGRES_DSN": "postgresql://galaxy:s3cret@db.internal:5432/galaxy",
        "BACKEND_POSTGRES_POOL_SIZE": "7",
        "BACKEND_POSTGRES_CONNECT_TIMEOUT": "1m30s",
        "BACKEND_DATA_DIR": str(tmp_path / "data dir"),
        "BACKEND_POSTGRES_ACQUIRE_TIMEOUT": "2s",
        "BACKEND_POSTGRES_STATEMENT_TIMEOUT": "1500ms",
        "BACKEND_POSTGRES_DEAD_PEER_TIMEOUT": "9s",
        "BACKEND_LOOP_DEADLINE": "2m",
        "BACKEND_RUNTIME_ENGINE_TIMEOUT": "20s",
        "BACKEND_RUNTIME_TURN_TIMEOUT": "5m",
        "BACKEND_DOCKER_TIMEOUT": "45s",
        "BACKEND_SHUTDOWN_TIMEOUT": "45s",
        "BACKEND_HTTP_SHUTDOWN_TIMEOUT": "1.5s",
        "BACKEND_GRPC_PUSH_SHUTDOWN_TIMEOUT": "250ms",
        "BACKEND_INTERNAL_TOKEN": "t" * 40,
        "BACKEND_SECRET_KEY": "k" * 40,
        "BACKEND_ADMIN_BOOTSTRAP_USERNAME": "ops",
        "BACKEND_ADMIN_BOOTSTRAP_PASSWORD": "a long password",
        "BACKEND_AUTH_CODE_TTL": "5m",
        "BACKEND_AUTH_CODE_MAX_ATTEMPTS": "3",
        "BACKEND_AUTH_EMAIL_RATE_LIMIT": "4",
        "BACKEND_AUTH_IP_RATE_LIMIT": "20",
        "BACKEND_AUTH_IP_GUESS_LIMIT": "25",
        "BACKEND_AUTH_RATE_WINDOW": "1h",
        "BACKEND_SESSION_TTL": "168h",
        "BACKEND_AUTH_LAST_SEEN_FLUSH_INTERVAL": "45s",
        "BACKEND_AUTH_PRUNE_INTERVAL": "2h",
        "BACKEND_ADMIN_SESSION_TTL": "8h30m",
        "BACKEND_ADMIN_LOCKOUT_THRESHOLD": "9",
        "BACKEND_ADMIN_ADDRESS_LOCKOUT_THRESHOLD": "30",
        "BACKEND_ADMIN_MAX_CONCURRENT_LOGINS": "2",
        "BACKEND_ADMIN_LOCKOUT_DURATION": "2m",
        "BACKEND_ADMIN_PRUNE_INTERVAL": "3h",
        "BACKEND_USER_DEFAULT_TIER": "pro",
        "BACKEND_USER_DEFAULT_MAX_OWNED_GAMES": "5",
        "BACKEND_USER_DEFAULT_MAX_ACTIVE_GAMES": "20",
        "BACKEND_SMTP_ADDR": "smtp.example.org:587",
        "BACKEND_SMTP_USERNAME": "mailer",
        "BACKEND_SMTP_PASSWORD": "it's a $ecret",
        "BACKEND_SMTP_TLS": "starttls",
        "BACKEND_MAIL_FROM": "Galaxy Ops <ops@example.org>",
        "BACKEND_SMTP_TIMEOUT": "10s",
        "BACKEND_MAIL_LEASE": "1m",
        "BACKEND_MAIL_MAX_ATTEMPTS": "4",
        "BACKEND_MAIL_BACKOFF_MIN": "30s",
        "BACKEND_MAIL_BACKOFF_MAX": "2h",
        "BACKEND_MAIL_REDACT_INTERVAL": "1m",
        "BACKEND_NOTIFICATION_MAX_ATTEMPTS": "6",
        "BACKEND_NOTIFICATION_BACKOFF_MIN": "5s",
        "BACKEND_NOTIFICATION_BACKOFF_MAX": "30m",
        "BACKEND_NOTIFICATION_BROADCAST_BATCH": "250",
        "BACKEND_NOTIFICATION_LEASE": "45s",
        "BACKEND_PUBLIC_URL": "https://galaxy.example.org",
        "BACKEND_GEOIP_DB_PATH": str(geoip),
        "BACKEND_TRUSTED_PROXIES": "10.0.0.0/8, 192.168.1.1, fd00::/8",
        "BACKEND_LOBBY_PENDING_REGISTRATION_TTL": "24h",
        # Globs: unquoted, a shell would expand them when sourcing.
        "BACKEND_LOBBY_SWEEP_SCHEDULE": "*/5 * * * *",
        "BACKEND_RUNTIME_DRIVER": "process",
        "BACKEND_DOCKER_HOST": "unix:///var/run/docker.sock",
        "BACKEND_RUNTIME_WORKER_POOL_SIZE": "2",
        "BACKEND_RUNTIME_JOB_QUEUE_SIZE": "64",
        "BACKEND_RUNTIME_RECONCILE_INTERVAL": "1m",
        "BACKEND_RUNTIME_ENGINE_IMAGE": "registry.example.org/galaxy-engine:1.2",
        "BACKEND_RUNTIME_DOCKER_NETWORK": "galaxy-engines",
        "BACKEND_RUNTIME_ENGINE_MEMORY_MB": "256",
        "BACKEND_RUNTIME_ENGINE_CPUS": "0.5",
        "BACKEND_RUNTIME_START_TIMEOUT": "2m",
        "BACKEND_RUNTIME_TURN_CONCURRENCY": "8",
        "BACKEND_RUNTIME_HEALTH_FAILURES": "5",
        "BACKEND_RUNTIME_RESTART_BUDGET": "1",
        "BACKEND_RUNTIME_FINISHED_RETENTION": "1h",
        "BACKEND_CACHE_MAX_ENTRIES": "5000",
        "BACKEND_CACHE_MAX_AGE": "90s",
        "BACKEND_CACHE_WARM_ENTRIES": "0",
        "BACKEND_CACHE_BUS_HEARTBEAT": "3s",
        "BACKEND_PUSH_RING_SIZE": "1024",
        "BACKEND_PUSH_BATCH_MAX": "64",
        "BACKEND_OTEL_TRACES_EXPORTER": "none",
        "BACKEND_OTEL_METRICS_EXPORTER": "prometheus",
        "BACKEND_OTEL_TRACES_SAMPLE_RATIO": "0.25",
        "BACKEND_LOG_LEVEL": "debug",
        "BACKEND_LOG_FORMAT": "console",
        "BACKEND_ENV": "production",
        "BACKEND_HTTP_MAX_HEADER_BYTES": "16384",
        "BACKEND_HTTP_HEADER_TIMEOUT": "5s",
        "BACKEND_HTTP_KEEPALIVE_TIMEOUT": "10s",
        "BACKEND_HTTP_MAX_CONNECTIONS": "500",
        "BACKEND_LOBBY_MIN_TURN_INTERVAL": "10m",
        "BACKEND_RUNTIME_FORCE_TURN_COOLDOWN": "0s",
        "BACKEND_RUNTIME_ORDERS_CHECK_RATE": "2.5",
        "BACKEND_RUNTIME_ORDERS_CHECK_BURST": "4",
        "BACKEND_RUNTIME_MAX_ENGINES": "40",
        "BACKEND_RUNTIME_ENGINE_PIDS_LIMIT": "64",
        "BACKEND_RUNTIME_ENGINE_CPU_SECONDS": "600",
        "BACKEND_AUTH_EMAIL_DAILY_LIMIT": "20",
        "BACKEND_AUTH_EMAIL_GUESS_LIMIT": "5",
    }


@pytest.fixture
def load(monkeypatch: pytest.MonkeyPatch) -> Load:
    """Load a Config from exactly these BACKEND_* variables."""

    def load(env: dict[str, str]) -> Config:
        with monkeypatch.context() as patch:
            for name in list(os.environ):
                if name.upper().startswith("BACKEND_"):
                    patch.delenv(name)
            for name, value in env.items():
                patch.setenv(name, value)
            return load_from_env()

    return load


def check_config(env: dict[str, str]) -> str:
    result = run_cli("check-config", env=env)
    assert result.returncode == 0, result.stderr
    return result.stdout


def source(output: str, tmp_path: Path) -> dict[str, str]:
    """The BACKEND_* variables a shell gets from `set -a; . file; set +a`."""
    env_file = tmp_path / "effective.env"
    env_file.write_text(output)
    result = subprocess.run(
        ["bash", "-c", SOURCE_THEN_DUMP, "bash", str(env_file), sys.executable, DUMP_ENV],
        env=backend_env({}),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    sourced: dict[str, str] = json.loads(result.stdout)
    return {k: v for k, v in sourced.items() if k.startswith("BACKEND_")}


@pytest.mark.parametrize("case", ["defaults", "non-defaults"])
def test_the_output_sourced_back_loads_an_equal_config(
    case: str, tmp_path: Path, load: Load
) -> None:
    env = {} if case == "defaults" else non_defaults(tmp_path)
    original = load(env)
    output = check_config(env)
    sourced = source(output, tmp_path)
    set_secrets = SECRET_VARIABLES & set(env)
    assert set(sourced) == {env_name(name) for name in Config.model_fields} - set_secrets
    for variable in SECRET_VARIABLES:
        # A secret is never printed, only that it is set, on a line a shell skips: the
        # sourced environment lacks it, so put the real one back.
        if variable in env:
            assert f"# {variable}=(set)\n" in output
            sourced[variable] = env[variable]
        else:
            assert sourced[variable] == ""
    reloaded = load(sourced)
    for name in Config.model_fields:
        assert getattr(reloaded, name) == getattr(original, name), env_name(name)
    assert reloaded == original


def test_the_non_default_case_changes_every_variable(tmp_path: Path, load: Load) -> None:
    # Keeps the round trip above complete as variables are added.
    defaults, changed = load({}), load(non_defaults(tmp_path))
    same = [env_name(n) for n in Config.model_fields if getattr(defaults, n) == getattr(changed, n)]
    assert same == []


def test_values_read_as_a_user_writes_them() -> None:
    lines = dict(line.split("=", 1) for line in check_config({}).splitlines())
    assert lines["BACKEND_HTTP_ADDR"] == ":8080"
    assert lines["BACKEND_METRICS_ADDR"] == ""
    assert lines["BACKEND_SESSION_TTL"] == "720h0m0s"
    assert lines["BACKEND_SHUTDOWN_TIMEOUT"] == "30s"
    assert lines["BACKEND_TRUSTED_PROXIES"] == "127.0.0.0/8,::1/128"
    assert lines["BACKEND_LOBBY_SWEEP_SCHEDULE"] == "'@every 1m'"
    assert lines["BACKEND_SMTP_TLS"] == "auto"
    assert lines["BACKEND_ENV"] == "development"
    assert lines["BACKEND_RUNTIME_MAX_ENGINES"] == ""
    assert lines["BACKEND_RUNTIME_FORCE_TURN_COOLDOWN"] == "5m0s"
    assert lines["BACKEND_DATA_DIR"] == ".galaxy"
    assert lines["BACKEND_MAIL_FROM"] == "'Galaxy <noreply@galaxy.localhost>'"


def test_secrets_show_only_that_they_are_set(tmp_path: Path) -> None:
    env = non_defaults(tmp_path)
    output = check_config(env)
    for variable in SECRET_VARIABLES:
        assert f"\n# {variable}=(set)\n" in output
        assert env[variable] not in output
