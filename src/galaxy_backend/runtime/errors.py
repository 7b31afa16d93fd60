"""What the runtime refuses, each with its stable code."""

from galaxy_backend.kernel.errors import Conflict


class DefaultVersionTakenOut(Conflict):
    code = "default_engine_version"
    summary = "the default engine version stays offered: make another the default first"
