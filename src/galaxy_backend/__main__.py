"""`python -m galaxy_backend` is the `galaxy-backend` command."""

from galaxy_backend.cli import run

run()
