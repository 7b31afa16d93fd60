"""What the lobby refuses, each with its stable code."""

from galaxy_backend.kernel.errors import InvalidInput


class UnknownEngineVersion(InvalidInput):
    code = "unknown_engine_version"
    summary = "no such engine version in the runtime's registry, or one taken out of it"


class InvalidSettings(InvalidInput):
    code = "invalid_settings"
    summary = "the engine does not accept these settings (`details.fields` names each)"
