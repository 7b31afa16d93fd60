"""`python -m galaxy_gateway` is the `galaxy-gateway` command."""

from galaxy_gateway.cli import run

run()
