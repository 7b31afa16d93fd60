"""The embedded PostgreSQL starts quietly where no XDG_RUNTIME_DIR is set (CI, containers)."""

import subprocess
import sys
from pathlib import Path

from tests.support import backend_env, cli

START_AND_STOP = """\
import sys
from pathlib import Path
from galaxy_backend.postgres.embedded import EmbeddedPostgres

server = EmbeddedPostgres(Path(sys.argv[1]))
print(server.start())
server.stop()
"""


def _env(**extra: str) -> dict[str, str]:
    env = backend_env({})
    env.pop("XDG_RUNTIME_DIR", None)
    return {**env, **extra}


def _run(command: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=120, check=False
    )


def _start_and_stop(directory: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    # A fresh interpreter with every warning an error: the lookup that warned runs once
    # per process, at pgserver's import.
    return _run([sys.executable, "-W", "error", "-c", START_AND_STOP, str(directory)], env)


def test_starts_without_xdg_runtime_dir_and_without_a_warning(tmp_path: Path) -> None:
    result = _start_and_stop(tmp_path / "pg", _env())
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("postgresql://")
    assert "Warning" not in result.stderr


def test_an_unsafe_xdg_runtime_dir_still_warns(tmp_path: Path) -> None:
    # Only the missing variable is expected and silenced; a broken one is still reported.
    runtime = tmp_path / "run"
    runtime.write_text("not a directory")
    result = _start_and_stop(tmp_path / "pg", _env(XDG_RUNTIME_DIR=str(runtime)))
    assert result.returncode != 0
    assert "RuntimeDirWarning" in result.stderr
    assert "XDG_RUNTIME_DIR" in result.stderr


def test_the_backend_logs_no_warning_when_it_starts_the_embedded_server(tmp_path: Path) -> None:
    # `migrate` starts and stops the embedded server as `serve` does, through the CLI.
    env = _env(BACKEND_DATA_DIR=str(tmp_path / "data"), BACKEND_LOG_LEVEL="info")
    result = _run(cli("migrate"), env)
    assert result.returncode == 0, result.stderr
    assert "embedded PostgreSQL running" in result.stderr
    assert "XDG_RUNTIME_DIR" not in result.stderr
    assert '"level":"warning"' not in result.stderr.replace(" ", "")
