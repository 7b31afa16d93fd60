"""The fixtures every test directory may use, registered once (no conftest imports another)."""

pytest_plugins = [
    "tests.support.postgres",
    "tests.support.api",
    "tests.support.docker",
    "tests.support.table",
    "tests.support.gateway",
    "tests.support.browser",
]
