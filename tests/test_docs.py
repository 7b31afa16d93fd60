"""README and .env.example stay true to the configuration the code reads."""

import re
import subprocess

from galaxy_backend.config import known_variables
from tests.support import REPO, backend_env, cli


def test_env_example_lists_every_variable_and_no_other() -> None:
    text = (REPO / ".env.example").read_text()
    assert set(re.findall(r"^(BACKEND_[A-Z_]+)=", text, re.MULTILINE)) == known_variables()


def test_env_example_values_are_the_defaults() -> None:
    script = f'set -a; . {REPO / ".env.example"}; set +a; exec "$@"'
    sourced = subprocess.run(
        ["bash", "-c", script, "bash", *cli("check-config")],
        env=backend_env({}),
        capture_output=True,
        text=True,
        check=False,
    )
    plain = subprocess.run(
        cli("check-config"), env=backend_env({}), capture_output=True, text=True, check=False
    )
    assert sourced.returncode == 0, sourced.stderr
    assert sourced.stdout == plain.stdout


def test_readme_documents_every_variable() -> None:
    text = (REPO / "README.md").read_text()
    documented = set(re.findall(r"`(BACKEND_[A-Z_]+)`", text))
    assert known_variables() <= documented
    assert documented <= known_variables() | {"BACKEND_*"}
