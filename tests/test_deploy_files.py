"""deploy/ stays true to the code: the compose file's settings load, its names line up, and
the Dockerfiles build what docs/engine.md and the drivers expect. (Compose itself
cannot run where no registry answers; the docker tests build and run the engine image.)"""

import os
import re
from ipaddress import ip_address, ip_network
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from galaxy_backend.config import Config, known_variables, load_from_env
from galaxy_backend.runtime.drivers.base import ENGINE_PORT
from galaxy_gateway import config as gateway_config
from tests.support import REPO

DEPLOY = REPO / "deploy"
# ${NAME}, ${NAME:-default}, ${NAME:?message}, as compose interpolates them.
VARIABLE = re.compile(r"\$\{([A-Z_][A-Z0-9_]*)(?::?([-?])([^}]*))?\}")
# What a deployer sets for the required ones.
DEPLOYER = {
    "DOCKER_GID": "998",
    "POSTGRES_PASSWORD": "db0secret0password",
    "BACKEND_INTERNAL_TOKEN": "i" * 64,
    "BACKEND_SECRET_KEY": "k" * 64,
    "BACKEND_PUBLIC_URL": "https://galaxy.example.org",
    "BACKEND_SMTP_ADDR": "mail:1025",
}


def interpolate(text: str, env: dict[str, str]) -> str:
    def value(match: re.Match[str]) -> str:
        name, kind, rest = match.groups()
        if name in env:
            return env[name]
        if kind == "-":
            return rest
        raise AssertionError(f"${{{name}}} has no default and the deployer did not set it")

    return VARIABLE.sub(value, text)


def interpolated(node: Any, env: dict[str, str]) -> Any:
    """Compose's order: parse the YAML, then interpolate every string in it."""
    if isinstance(node, dict):
        return {k: interpolated(v, env) for k, v in node.items()}
    if isinstance(node, list):
        return [interpolated(v, env) for v in node]
    return interpolate(node, env) if isinstance(node, str) else node


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = interpolated(
        yaml.safe_load((DEPLOY / "compose.yaml").read_text()), DEPLOYER
    )
    return loaded


def instructions(dockerfile: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    text = re.sub(r"\\\n", " ", dockerfile.read_text())
    found = []
    for raw in text.splitlines():
        line = raw.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            found.append((keyword.upper(), rest.strip()))
    return found


def test_a_required_compose_variable_says_what_to_set() -> None:
    text = (DEPLOY / "compose.yaml").read_text()
    required = set()
    for name, kind, rest in VARIABLE.findall(text):
        if kind == "?":
            assert rest.strip(), f"${{{name}:?}} should say what to set"
            required.add(name)
    # Production: the secrets, the database password, the relay and the public URL, none
    # with a default.
    assert required == set(DEPLOYER)
    for name in required:
        with pytest.raises(AssertionError, match=name):
            interpolated(yaml.safe_load(text), {k: v for k, v in DEPLOYER.items() if k != name})


def test_the_platform_has_its_services(compose: dict[str, Any]) -> None:
    assert set(compose["services"]) == {"postgres", "backend", "gateway", "mail", "otel-collector"}
    backend = compose["services"]["backend"]
    assert backend["build"]["dockerfile"] == "deploy/backend.Dockerfile"
    assert (DEPLOY / backend["build"]["context"]).resolve() == REPO
    assert backend["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert backend["init"] is True


def test_the_backend_environment_is_a_valid_configuration(
    compose: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    env: dict[str, str] = compose["services"]["backend"]["environment"]
    backend_vars = {k for k in env if k.startswith("BACKEND_")}
    assert backend_vars <= known_variables()
    assert {k for k in env if not k.startswith("BACKEND_")} <= {"OTEL_EXPORTER_OTLP_ENDPOINT"}
    for name in list(os.environ):
        if name.startswith("BACKEND_"):
            monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, str(value))
    config: Config = load_from_env()
    assert config.env == "production"
    assert config.runtime_driver == "docker"
    assert config.runtime_docker_network is not None
    assert config.postgres_dsn is not None


def test_only_the_gateway_is_published(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert services["gateway"]["ports"] == ["8000:8000"]
    published = {name for name, service in services.items() if service.get("ports")}
    assert published == {"gateway"}


def test_the_gateway_environment_is_a_valid_configuration(
    compose: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    services = compose["services"]
    gateway = services["gateway"]
    env: dict[str, str] = gateway["environment"]
    assert {k for k in env if k.startswith("GATEWAY_")} <= gateway_config.known_variables()
    for name in list(os.environ):
        if name.startswith(("GATEWAY_", "BACKEND_")):
            monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, str(value))
    config = gateway_config.load_from_env()
    # It reaches the backend service on the ports the backend listens on.
    backend_env = services["backend"]["environment"]
    assert config.backend_url == "http://backend:8080"
    assert [str(a) for a in config.backend_push_addrs] == ["backend:8081"]
    assert "BACKEND_HTTP_ADDR" not in backend_env and "BACKEND_GRPC_PUSH_ADDR" not in backend_env
    # The backend's own token, required like every production secret, and nothing of the
    # backend's data mounted.
    assert env["GATEWAY_INTERNAL_TOKEN"] == backend_env["BACKEND_INTERNAL_TOKEN"]
    assert "volumes" not in gateway
    assert gateway["depends_on"]["backend"]["condition"] == "service_healthy"
    # The backend believes X-Forwarded-For from the gateway's fixed address alone, on the
    # one network they share (inside its subnet).
    [shared] = set(gateway["networks"]) & set(services["backend"]["networks"])
    address = gateway["networks"][shared]["ipv4_address"]
    assert backend_env["BACKEND_TRUSTED_PROXIES"] == f"{address}/32"
    [subnet] = [c["subnet"] for c in compose["networks"][shared]["ipam"]["config"]]
    assert ip_address(address) in ip_network(subnet)
    assert compose["networks"][shared]["internal"] is True


def test_names_line_up_across_the_services(compose: dict[str, Any]) -> None:
    services = compose["services"]
    backend = services["backend"]
    env = backend["environment"]
    # PostgreSQL: the DSN names the service and the credentials it was given.
    dsn = urlsplit(env["BACKEND_POSTGRES_DSN"])
    postgres = services["postgres"]["environment"]
    assert (dsn.hostname, dsn.username, dsn.password, dsn.path.lstrip("/")) == (
        "postgres",
        postgres["POSTGRES_USER"],
        postgres["POSTGRES_PASSWORD"],
        postgres["POSTGRES_DB"],
    )
    # SMTP: the mail catcher's SMTP port.
    assert env["BACKEND_SMTP_ADDR"] == "mail:1025"
    # Telemetry: the collector's OTLP gRPC receiver.
    collector = yaml.safe_load((DEPLOY / "otel-collector.yaml").read_text())
    grpc = collector["receivers"]["otlp"]["protocols"]["grpc"]["endpoint"]
    endpoint = urlsplit(env["OTEL_EXPORTER_OTLP_ENDPOINT"])
    assert (endpoint.hostname, endpoint.port) == ("otel-collector", int(grpc.rpartition(":")[2]))
    mounts = services["otel-collector"]["volumes"]
    assert any(m.startswith("./otel-collector.yaml:") for m in mounts)
    pipelines = collector["service"]["pipelines"]
    assert {"traces", "metrics"} <= set(pipelines)
    assert all("otlp" in p["receivers"] for p in pipelines.values())
    # Docker: the socket the driver is pointed at is the one mounted.
    socket = env["BACKEND_DOCKER_HOST"].removeprefix("unix://")
    assert f"/var/run/docker.sock:{socket}" in backend["volumes"]
    # Engines: the backend joins the network it starts them on, by that network's name.
    [key] = [
        k
        for k, n in compose["networks"].items()
        if n.get("name") == env["BACKEND_RUNTIME_DOCKER_NETWORK"]
    ]
    assert key in backend["networks"]
    assert compose["networks"][key]["external"] is True


def test_nothing_of_the_backend_is_published_and_only_the_edge_is_trusted(
    compose: dict[str, Any],
) -> None:
    services = compose["services"]
    for name in ("backend", "postgres", "otel-collector"):
        assert "ports" not in services[name], name
    backend = services["backend"]
    edge = compose["networks"]["edge"]
    assert edge["internal"] is True
    trusted = backend["environment"]["BACKEND_TRUSTED_PROXIES"]
    assert trusted == f"{services['gateway']['networks']['edge']['ipv4_address']}/32"
    assert "edge" in backend["networks"]


def test_the_engine_image_is_python_and_the_engine_only() -> None:
    steps = instructions(DEPLOY / "engine.Dockerfile")
    assert steps[0] == ("ARG", "BASE=python:3.11-slim")
    assert steps[1] == ("FROM", "${BASE}")
    copies = [args for keyword, args in steps if keyword == "COPY"]
    assert [c.split()[0] for c in copies] == ["src/galaxy_engine"]
    keywords = dict(steps)
    assert keywords["USER"] not in ("root", "0")
    assert keywords["VOLUME"] == "/data"
    assert keywords["EXPOSE"] == str(ENGINE_PORT)
    assert "urllib" in keywords["HEALTHCHECK"]
    assert f"127.0.0.1:{ENGINE_PORT}/healthz" in keywords["HEALTHCHECK"]
    entrypoint = keywords["ENTRYPOINT"]
    assert entrypoint == (
        '["python", "-m", "galaxy_engine", "serve", "--data", "/data", "--port", "8080"]'
    )
    # /data is owned by the engine's user before it is declared a volume.
    run = keywords["RUN"]
    assert "chown galaxy:galaxy /data" in run
    assert keywords["USER"] == "galaxy"


def test_the_backend_image_installs_the_locked_project() -> None:
    steps = instructions(DEPLOY / "backend.Dockerfile")
    assert steps[0] == ("ARG", "PYTHON=python:3.11-slim")
    assert [args.split()[0] for keyword, args in steps if keyword == "FROM"] == ["${PYTHON}"] * 2
    runs = " ".join(args for keyword, args in steps if keyword == "RUN")
    assert "pip install" in runs
    assert "-c requirements.lock" in runs
    keywords = dict(steps)
    assert keywords["USER"] == "galaxy"
    assert "/healthz" in keywords["HEALTHCHECK"]
    assert keywords["ENTRYPOINT"] == '["galaxy-backend"]'
    assert keywords["CMD"] == '["serve"]'


def test_the_gateway_image_installs_the_locked_project() -> None:
    steps = instructions(DEPLOY / "gateway.Dockerfile")
    assert steps[0] == ("ARG", "PYTHON=python:3.11-slim")
    runs = " ".join(args for keyword, args in steps if keyword == "RUN")
    assert "-c requirements.lock" in runs
    # The backend's user id, so the token file the backend wrote is readable.
    assert "--uid 10001" in runs
    assert "--uid 10001" in " ".join(a for k, a in instructions(DEPLOY / "backend.Dockerfile"))
    keywords = dict(steps)
    assert keywords["USER"] == "galaxy"
    assert keywords["EXPOSE"] == "8000"
    assert "127.0.0.1:8000/healthz" in keywords["HEALTHCHECK"]
    assert keywords["ENTRYPOINT"] == '["galaxy-gateway"]'
    assert keywords["CMD"] == '["serve"]'


def test_the_build_context_holds_what_the_dockerfiles_copy() -> None:
    patterns = [
        line.strip()
        for line in (REPO / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert patterns[0] == "*"
    allowed = {p.removeprefix("!") for p in patterns if p.startswith("!")}
    for dockerfile in ("engine.Dockerfile", "backend.Dockerfile", "gateway.Dockerfile"):
        for keyword, args in instructions(DEPLOY / dockerfile):
            if keyword == "COPY" and not args.startswith("--from"):
                for source in args.split()[:-1]:
                    assert (REPO / source).exists(), source
                    assert any(source == a or source.startswith(a + "/") for a in allowed), (
                        f"{dockerfile} copies {source}, which .dockerignore leaves out"
                    )
