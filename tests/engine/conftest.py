"""Engine tests need no database: only a temporary directory and, for some, a subprocess."""

import logging
from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def _engine_logger() -> Iterator[None]:
    """The CLI points the engine's logger at the stderr of the moment; undo that after."""
    logger = logging.getLogger("galaxy_engine")
    saved = (list(logger.handlers), logger.level, logger.propagate)
    yield
    logger.handlers[:], logger.level, logger.propagate = saved
