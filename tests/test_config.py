"""Configuration: defaults, each bad value, several at once, and exit code 2 with nothing bound."""

from datetime import timedelta

import pytest

from galaxy_backend.config import Address, ConfigError, load_from_env, parse_address
from tests.support import free_port, port_is_bound, run_cli


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in list(os.environ):
        if name.upper().startswith("BACKEND_"):
            monkeypatch.delenv(name)


def test_defaults_match_the_design() -> None:
    config = load_from_env()
    assert config.http_addr == Address("", 8080)
    assert config.grpc_push_addr == Address("", 8081)
    assert config.metrics_addr is None
    assert config.postgres_dsn is None
    assert config.shutdown_timeout == timedelta(seconds=30)
    assert config.http_shutdown_timeout == timedelta(seconds=15)
    assert config.grpc_push_shutdown_timeout == timedelta(seconds=15)
    assert config.push_ring_size == 65536
    assert config.mail_max_attempts == 8
    assert config.mail_backoff_min == timedelta(seconds=10)
    assert config.mail_backoff_max == timedelta(hours=1)
    assert config.lobby_pending_registration_ttl == timedelta(hours=72)
    assert str(config.lobby_sweep_schedule) == "@every 1m0s"
    assert config.runtime_worker_pool_size == 4
    assert config.runtime_job_queue_size == 256
    assert config.runtime_engine_image == "galaxy-engine:latest"
    assert [str(n) for n in config.trusted_proxies] == ["127.0.0.0/8", "::1/128"]
    assert config.otel_traces_exporter == "otlp"
    assert config.otel_metrics_exporter == "otlp"
    assert config.log_level == "info"
    assert config.log_format == "json"
    assert config.env == "development"
    assert config.smtp_tls == "auto"
    assert config.lobby_min_turn_interval == timedelta(minutes=1)
    assert config.runtime_force_turn_cooldown == timedelta(minutes=5)
    assert config.runtime_max_engines is None


def test_values_are_parsed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BACKEND_HTTP_ADDR", "127.0.0.1:9000")
    monkeypatch.setenv("BACKEND_GRPC_PUSH_ADDR", "[::1]:9001")
    monkeypatch.setenv("BACKEND_SHUTDOWN_TIMEOUT", "1m30s")
    monkeypatch.setenv("BACKEND_LOBBY_SWEEP_SCHEDULE", "*/5 * * * *")
    monkeypatch.setenv("BACKEND_TRUSTED_PROXIES", "10.0.0.0/8, 192.168.1.1")
    monkeypatch.setenv("BACKEND_SMTP_TLS", "starttls")
    monkeypatch.setenv("BACKEND_METRICS_ADDR", "")  # empty means unset
    config = load_from_env()
    assert config.http_addr == Address("127.0.0.1", 9000)
    assert config.grpc_push_addr == Address("::1", 9001)
    assert config.shutdown_timeout == timedelta(seconds=90)
    assert config.lobby_sweep_schedule.text == "*/5 * * * *"
    assert [str(n) for n in config.trusted_proxies] == ["10.0.0.0/8", "192.168.1.1/32"]
    assert config.smtp_tls == "starttls"
    assert config.metrics_addr is None


BAD_VALUES = [
    ("BACKEND_HTTP_ADDR", "localhost", "is not host:port or :port"),
    ("BACKEND_HTTP_ADDR", ":70000", "port outside 0..65535"),
    ("BACKEND_GRPC_PUSH_ADDR", "[::1:80", "unclosed"),
    ("BACKEND_METRICS_ADDR", "a b:80", "invalid host"),
    ("BACKEND_SHUTDOWN_TIMEOUT", "5x", "is not a duration"),
    ("BACKEND_SHUTDOWN_TIMEOUT", "0s", "longer than 0s"),
    ("BACKEND_HTTP_SHUTDOWN_TIMEOUT", "-3s", "negative"),
    ("BACKEND_GRPC_PUSH_SHUTDOWN_TIMEOUT", "ten", "is not a duration"),
    ("BACKEND_INTERNAL_TOKEN", "too-short", "shorter than 32 characters"),
    ("BACKEND_LOBBY_PENDING_REGISTRATION_TTL", "3d", "is not a duration"),
    ("BACKEND_LOBBY_SWEEP_SCHEDULE", "every minute", "5-field cron"),
    ("BACKEND_LOBBY_SWEEP_SCHEDULE", "@every 100ms", "shorter than 1s"),
    ("BACKEND_RUNTIME_DRIVER", "kvm", "'docker' or 'process'"),
    ("BACKEND_RUNTIME_WORKER_POOL_SIZE", "0", "greater than or equal to 1"),
    ("BACKEND_RUNTIME_JOB_QUEUE_SIZE", "many", "valid integer"),
    ("BACKEND_RUNTIME_RECONCILE_INTERVAL", "30", "is not a duration"),
    ("BACKEND_RUNTIME_DOCKER_NETWORK", "-engines", "should match pattern"),
    ("BACKEND_RUNTIME_ENGINE_MEMORY_MB", "8", "greater than or equal to 16"),
    ("BACKEND_RUNTIME_ENGINE_CPUS", "0", "greater than 0"),
    ("BACKEND_TRUSTED_PROXIES", "10.0.0.0/8,not-an-ip", "'not-an-ip' is not an IP address"),
    ("BACKEND_MAIL_MAX_ATTEMPTS", "-1", "greater than or equal to 1"),
    ("BACKEND_MAIL_BACKOFF_MIN", "soon", "is not a duration"),
    ("BACKEND_NOTIFICATION_MAX_ATTEMPTS", "0", "greater than or equal to 1"),
    ("BACKEND_PUBLIC_URL", "galaxy.example.org", "is not an http(s) URL"),
    ("BACKEND_PUBLIC_URL", "https://galaxy example.org", "is not an http(s) URL"),
    ("BACKEND_PUBLIC_URL", "https://galaxÿ.example.org", "is not an http(s) URL"),
    ("BACKEND_PUBLIC_URL", "https://galaxy.example.org/?x=1", "is not an http(s) URL"),
    ("BACKEND_PUSH_RING_SIZE", "8", "greater than or equal to 16"),
    ("BACKEND_OTEL_TRACES_EXPORTER", "jaeger", "'otlp', 'none' or 'stdout'"),
    ("BACKEND_OTEL_METRICS_EXPORTER", "statsd", "'prometheus'"),
    ("BACKEND_LOG_LEVEL", "verbose", "'debug'"),
    ("BACKEND_LOG_FORMAT", "xml", "'json' or 'console'"),
    ("BACKEND_GEOIP_DB_PATH", "/nonexistent/geo.mmdb", "is not a readable file"),
    ("BACKEND_POSTGRES_STATEMENT_TIMEOUT", "0s", "longer than 0s"),
    ("BACKEND_POSTGRES_ACQUIRE_TIMEOUT", "soon", "is not a duration"),
    ("BACKEND_DOCKER_TIMEOUT", "-1s", "is negative"),
    ("BACKEND_SMTP_TLS", "perhaps", "'auto', 'starttls', 'implicit' or 'none'"),
    ("BACKEND_ENV", "staging", "'development' or 'production'"),
    ("BACKEND_HTTP_MAX_HEADER_BYTES", "100", "greater than or equal to 1024"),
    ("BACKEND_HTTP_HEADER_TIMEOUT", "0s", "longer than 0s"),
    ("BACKEND_HTTP_KEEPALIVE_TIMEOUT", "soon", "is not a duration"),
    ("BACKEND_HTTP_MAX_CONNECTIONS", "0", "greater than or equal to 1"),
    ("BACKEND_LOBBY_MIN_TURN_INTERVAL", "0s", "longer than 0s"),
    ("BACKEND_RUNTIME_FORCE_TURN_COOLDOWN", "-1m", "negative"),
    ("BACKEND_RUNTIME_ORDERS_CHECK_RATE", "-1", "greater than or equal to 0"),
    ("BACKEND_RUNTIME_ORDERS_CHECK_RATE", "often", "valid number"),
    ("BACKEND_RUNTIME_ORDERS_CHECK_BURST", "0", "greater than or equal to 1"),
    ("BACKEND_RUNTIME_MAX_ENGINES", "0", "greater than or equal to 1"),
    ("BACKEND_RUNTIME_ENGINE_PIDS_LIMIT", "4", "greater than or equal to 16"),
    ("BACKEND_RUNTIME_ENGINE_CPU_SECONDS", "0", "greater than or equal to 1"),
    ("BACKEND_AUTH_EMAIL_DAILY_LIMIT", "0", "greater than or equal to 1"),
    ("BACKEND_AUTH_EMAIL_GUESS_LIMIT", "none", "valid integer"),
]


@pytest.mark.parametrize(("variable", "value", "reason"), BAD_VALUES)
def test_each_bad_value_is_named(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, reason: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError) as caught:
        load_from_env()
    assert [p.variable for p in caught.value.problems] == [variable]
    assert reason in caught.value.problems[0].reason


def test_every_bad_variable_is_reported_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BACKEND_HTTP_ADDR", "nowhere")
    monkeypatch.setenv("BACKEND_SHUTDOWN_TIMEOUT", "forever")
    monkeypatch.setenv("BACKEND_PUSH_RING_SIZE", "1")
    monkeypatch.setenv("BACKEND_LOG_FORMAT", "yaml")
    with pytest.raises(ConfigError) as caught:
        load_from_env()
    named = {p.variable for p in caught.value.problems}
    assert named == {
        "BACKEND_HTTP_ADDR",
        "BACKEND_SHUTDOWN_TIMEOUT",
        "BACKEND_PUSH_RING_SIZE",
        "BACKEND_LOG_FORMAT",
    }
    text = str(caught.value)
    assert all(name in text for name in named)


CROSS_FIELD = [
    ({"BACKEND_MAIL_BACKOFF_MIN": "2h"}, "BACKEND_MAIL_BACKOFF_MIN"),
    (
        {"BACKEND_NOTIFICATION_BACKOFF_MIN": "1m", "BACKEND_NOTIFICATION_BACKOFF_MAX": "30s"},
        "BACKEND_NOTIFICATION_BACKOFF_MIN",
    ),
    ({"BACKEND_ADMIN_BOOTSTRAP_USERNAME": "root"}, "BACKEND_ADMIN_BOOTSTRAP_USERNAME"),
    ({"BACKEND_SMTP_PASSWORD": "pw"}, "BACKEND_SMTP_USERNAME"),
    ({"BACKEND_SMTP_ADDR": "mail.example:0"}, "BACKEND_SMTP_ADDR"),
    ({"BACKEND_OTEL_METRICS_EXPORTER": "prometheus"}, "BACKEND_OTEL_METRICS_EXPORTER"),
    # A loop deadline shorter than one round on a database that stopped answering.
    ({"BACKEND_LOOP_DEADLINE": "16s"}, "BACKEND_LOOP_DEADLINE"),
    (
        {"BACKEND_POSTGRES_STATEMENT_TIMEOUT": "30s", "BACKEND_LOOP_DEADLINE": "1m"},
        "BACKEND_LOOP_DEADLINE",
    ),
    ({"BACKEND_RUNTIME_TURN_TIMEOUT": "10s"}, "BACKEND_RUNTIME_TURN_TIMEOUT"),
    (
        {"BACKEND_SMTP_TLS": "none", "BACKEND_SMTP_USERNAME": "u", "BACKEND_SMTP_PASSWORD": "p"},
        "BACKEND_SMTP_TLS",
    ),
]


@pytest.mark.parametrize(("values", "variable"), CROSS_FIELD)
def test_inconsistent_pairs_are_named(
    monkeypatch: pytest.MonkeyPatch, values: dict[str, str], variable: str
) -> None:
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as caught:
        load_from_env()
    assert [p.variable for p in caught.value.problems] == [variable]


def test_secret_values_never_appear_in_the_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BACKEND_INTERNAL_TOKEN", "hunter2-secret")
    with pytest.raises(ConfigError) as caught:
        load_from_env()
    assert "hunter2" not in str(caught.value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (":8080", Address("", 8080)),
        ("0.0.0.0:0", Address("0.0.0.0", 0)),
        ("[::]:81", Address("::", 81)),
        ("db.internal:5432", Address("db.internal", 5432)),
    ],
)
def test_addresses(text: str, expected: Address) -> None:
    assert parse_address(text) == expected


def test_bad_config_exits_2_and_binds_nothing(tmp_path: object) -> None:
    port = free_port()
    result = run_cli(
        "serve",
        env={
            "BACKEND_HTTP_ADDR": f"127.0.0.1:{port}",
            "BACKEND_GRPC_PUSH_ADDR": "bad",
            "BACKEND_SHUTDOWN_TIMEOUT": "1x",
            "BACKEND_INTERNAL_TOKEN": "short-secret-value",
        },
        timeout=30,
    )
    assert result.returncode == 2
    assert "BACKEND_GRPC_PUSH_ADDR" in result.stderr
    assert "BACKEND_SHUTDOWN_TIMEOUT" in result.stderr
    assert "BACKEND_INTERNAL_TOKEN" in result.stderr
    assert "short-secret-value" not in result.stderr
    assert "Traceback" not in result.stderr
    assert not port_is_bound(port)


def test_check_config_prints_the_effective_configuration_without_secrets() -> None:
    result = run_cli(
        "check-config", env={"BACKEND_INTERNAL_TOKEN": "x" * 40, "BACKEND_HTTP_ADDR": ":9999"}
    )
    assert result.returncode == 0, result.stderr
    assert "BACKEND_HTTP_ADDR=:9999" in result.stdout
    assert "BACKEND_INTERNAL_TOKEN=(set)" in result.stdout
    assert "x" * 40 not in result.stdout


# What production needs set: no secret of its own making, a real PostgreSQL and SMTP relay.
PRODUCTION = {
    "BACKEND_ENV": "production",
    "BACKEND_SECRET_KEY": "k" * 40,
    "BACKEND_INTERNAL_TOKEN": "t" * 40,
    "BACKEND_POSTGRES_DSN": "postgresql://galaxy:pw@db.internal:5432/galaxy",
    "BACKEND_SMTP_ADDR": "smtp.example.org:587",
}


def test_production_refuses_generated_secrets_and_embedded_services() -> None:
    port = free_port()
    result = run_cli(
        "serve",
        env={"BACKEND_ENV": "production", "BACKEND_HTTP_ADDR": f"127.0.0.1:{port}"},
        timeout=30,
    )
    assert result.returncode == 2, result.stderr
    for variable in (
        "BACKEND_SECRET_KEY",
        "BACKEND_INTERNAL_TOKEN",
        "BACKEND_POSTGRES_DSN",
        "BACKEND_SMTP_ADDR",
    ):
        assert f"{variable}: must be set in production" in result.stderr
    assert "Traceback" not in result.stderr
    assert not port_is_bound(port)


def test_production_engines_in_docker_need_an_internal_network(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in PRODUCTION.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("BACKEND_RUNTIME_DRIVER", "docker")
    with pytest.raises(ConfigError) as caught:
        load_from_env()
    assert [p.variable for p in caught.value.problems] == ["BACKEND_RUNTIME_DOCKER_NETWORK"]
    monkeypatch.setenv("BACKEND_RUNTIME_DOCKER_NETWORK", "galaxy-engines")
    assert load_from_env().runtime_docker_network == "galaxy-engines"


@pytest.mark.parametrize("missing", sorted(set(PRODUCTION) - {"BACKEND_ENV"}))
def test_production_names_the_one_thing_missing(
    monkeypatch: pytest.MonkeyPatch, missing: str
) -> None:
    for name, value in PRODUCTION.items():
        if name != missing:
            monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as caught:
        load_from_env()
    assert [p.variable for p in caught.value.problems] == [missing]


def test_production_with_everything_set_loads(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in PRODUCTION.items():
        monkeypatch.setenv(name, value)
    assert load_from_env().env == "production"
    # Development (the default) makes up what is missing, as before.
    monkeypatch.delenv("BACKEND_ENV")
    for name in PRODUCTION:
        monkeypatch.delenv(name, raising=False)
    assert load_from_env().env == "development"
