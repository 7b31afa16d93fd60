"""GATEWAY_* configuration: defaults, one report of every bad variable, exit 2, docs."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from galaxy_gateway.config import Address, ConfigError, known_variables, load_from_env
from tests.support import REPO


def gateway_env(extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GATEWAY_", "BACKEND_"))}
    return env | extra


def gateway_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "galaxy_gateway", *args],
        env=gateway_env(env),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in list(os.environ):
        if name.startswith(("GATEWAY_", "BACKEND_")):
            monkeypatch.delenv(name)
    return monkeypatch


def test_the_defaults_are_design_section_11(clean_env: pytest.MonkeyPatch) -> None:
    config = load_from_env()
    assert config.http_addr == Address("", 8000)
    assert config.backend_url == "http://127.0.0.1:8080"
    assert config.backend_push_addrs == (Address("127.0.0.1", 8081),)
    assert config.internal_token is None
    assert config.internal_token_file == Path(".galaxy") / "internal-token"
    assert [str(n) for n in config.trusted_proxies] == ["127.0.0.0/8", "::1/128"]
    assert config.ws_auth_timeout.total_seconds() == 10


def test_the_token_file_follows_the_backends_data_dir(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("BACKEND_DATA_DIR", "/srv/galaxy")
    assert load_from_env().internal_token_file == Path("/srv/galaxy/internal-token")


def test_replicas_are_listed_with_commas(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("GATEWAY_BACKEND_PUSH_ADDRS", "b1:8081, b2:8081,[::1]:9")
    assert load_from_env().backend_push_addrs == (
        Address("b1", 8081),
        Address("b2", 8081),
        Address("::1", 9),
    )


def test_every_bad_variable_is_reported_at_once(clean_env: pytest.MonkeyPatch) -> None:
    bad = {
        "GATEWAY_HTTP_ADDR": "nowhere",
        "GATEWAY_BACKEND_URL": "ftp://backend",
        "GATEWAY_BACKEND_PUSH_ADDRS": "b1:8081,b1:8081",
        "GATEWAY_INTERNAL_TOKEN": "tiny-secret",
        "GATEWAY_TRUSTED_PROXIES": "10.0.0.0/8,not-a-net",
        "GATEWAY_WS_AUTH_TIMEOUT": "10 parsecs",
        "GATEWAY_HTTP_MAX_HEADER_BYTES": "12",
        "GATEWAY_LOG_FORMAT": "xml",
    }
    for name, value in bad.items():
        clean_env.setenv(name, value)
    with pytest.raises(ConfigError) as error:
        load_from_env()
    assert sorted(p.variable for p in error.value.problems) == sorted(bad)
    assert "tiny-secret" not in str(error.value)  # a secret's value is never repeated


def test_the_cli_exits_2_naming_each_bad_variable() -> None:
    result = gateway_cli(
        "serve", env={"GATEWAY_HTTP_ADDR": "nowhere", "GATEWAY_WS_QUEUE_SIZE": "0"}
    )
    assert result.returncode == 2
    assert "GATEWAY_HTTP_ADDR" in result.stderr
    assert "GATEWAY_WS_QUEUE_SIZE" in result.stderr


def test_check_config_prints_sourceable_defaults_and_hides_the_token() -> None:
    result = gateway_cli("check-config", env={"GATEWAY_INTERNAL_TOKEN": "s" * 40})
    assert result.returncode == 0, result.stderr
    assert "GATEWAY_HTTP_ADDR=:8000" in result.stdout.splitlines()
    assert "# GATEWAY_INTERNAL_TOKEN=(set)" in result.stdout.splitlines()
    assert "s" * 40 not in result.stdout


def test_env_example_lists_every_variable_with_its_default() -> None:
    text = (REPO / ".env.example").read_text()
    assert set(re.findall(r"^(GATEWAY_[A-Z_]+)=", text, re.MULTILINE)) == known_variables()
    script = f'set -a; . {REPO / ".env.example"}; set +a; exec "$@"'
    sourced = subprocess.run(
        ["bash", "-c", script, "bash", sys.executable, "-m", "galaxy_gateway", "check-config"],
        env=gateway_env({}),
        capture_output=True,
        text=True,
        check=False,
    )
    plain = gateway_cli("check-config", env={})
    assert sourced.returncode == 0, sourced.stderr
    # The id defaults to the host's name, which an example cannot know.
    assert _without_id(sourced.stdout) == _without_id(plain.stdout)


def _without_id(text: str) -> list[str]:
    return [line for line in text.splitlines() if not line.startswith("GATEWAY_ID=")]


def test_readme_documents_every_variable() -> None:
    text = (REPO / "README.md").read_text()
    documented = set(re.findall(r"`(GATEWAY_[A-Z_]+)`", text))
    assert known_variables() <= documented
    assert documented <= known_variables() | {"GATEWAY_*"}
