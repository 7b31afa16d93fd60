"""`python -m galaxy_engine ...`: the same entry point as the `galaxy-engine` script."""

from galaxy_engine.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
