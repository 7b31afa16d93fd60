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


# Files a clone of the repository does not have; assembled so this file does not name them.
_OUTSIDE = [
    "../" + "shared",
    "shared/" + "seed",
    "DESIGN" + ".md",
    "DESIGN" + " section",
    "ENGINE" + "-RULES",
    "NOTES" + "-MACHINE",
    "runtime-and" + "-components",
]


def test_no_tracked_file_points_outside_the_repository() -> None:
    tracked = subprocess.run(
        ["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True
    ).stdout.split(b"\0")
    found = []
    for name in filter(None, tracked):
        path = REPO / name.decode()
        if not path.is_file():
            continue
        text = path.read_bytes().decode("utf-8", "replace")
        found += [f"{name.decode()}: {o}" for o in _OUTSIDE if o in text]
    assert found == []


def test_the_engine_points_at_sections_that_docs_rules_has() -> None:
    sections = set(re.findall(r"^## (\d+)\. ", (REPO / "docs" / "rules.md").read_text(), re.M))
    cited = set()
    for path in (REPO / "src" / "galaxy_engine").glob("*.py"):
        for run in re.findall(r"docs/rules\.md sections? ([\d ,and]+)", path.read_text()):
            cited |= set(re.findall(r"\d+", run))
    assert cited, "the engine's modules name the rules they implement"
    assert cited <= sections
