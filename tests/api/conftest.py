"""The running-backend fixtures of the identity tests, for tests of the API as a whole."""

from tests.identity.conftest import api, smtp, start_api

__all__ = ["api", "smtp", "start_api"]
