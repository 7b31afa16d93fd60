"""The shared harness, tests/support, loaded as one pytest plugin."""

pytest_plugins = ["tests.support.plugin"]
