"""Which engine versions games may use, and what each accepts as game settings.

The runtime's registry of engine versions (`runtime_engine_versions`, which operators edit
and where the bundled engine is always installed) is the one catalogue: the lobby asks the
runtime for the versions it offers each time it checks a game. Every registered version is
a build of the reference engine, so each takes the bundled engine's settings, which are
data in `galaxy_engine.settings` (importing it loads nothing else and runs no engine); the
engine checks them again when the game starts.
"""

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from galaxy_backend.lobby.errors import InvalidSettings, UnknownEngineVersion
from galaxy_backend.lobby.models import EngineOffer
from galaxy_engine import settings as engine_settings

# The engine's map generator places a race's primary homeworld at least `race_spacing` from
# any other; its default map (200 ly, 25 ly spacing) holds 30 races.
_DEFAULT_CAPACITY = 30
_DEFAULT_SIDE_IN_SPACINGS = 200.0 / 25.0
_ENGINE_PLAYER_LIMIT = 100


class EngineCatalog(Protocol):
    """The engine versions games may use (the rules take it as a value, so they stay pure)."""

    def default_version(self) -> str: ...

    def known_versions(self) -> Sequence[str]: ...

    def validate_settings(self, version: str, raw: Mapping[str, Any]) -> dict[str, Any]:
        """The normalised settings, or InvalidInput naming `settings.<name>`."""
        ...

    def max_players(self, version: str, settings: Mapping[str, Any]) -> int: ...

    def settings_schema(self, version: str) -> dict[str, Any]:
        """JSON Schema of the settings object the version takes."""
        ...


class RegisteredEngines:
    """The versions the runtime's registry offers now, each a build of the reference engine."""

    def __init__(self, offers: Sequence[EngineOffer]) -> None:
        self._versions = tuple(o.version for o in offers)
        self._default = next((o.version for o in offers if o.default), None)

    def default_version(self) -> str:
        if self._default is None:
            raise UnknownEngineVersion(
                "no engine version is installed", field="engine_version", details={"known": []}
            )
        return self._default

    def known_versions(self) -> Sequence[str]:
        return self._versions

    def check_version(self, version: str) -> None:
        if version not in self._versions:
            raise UnknownEngineVersion(
                f"engine version {version!r} is not one games may use",
                field="engine_version",
                details={"known": list(self._versions)},
            )

    def validate_settings(self, version: str, raw: Mapping[str, Any]) -> dict[str, Any]:
        self.check_version(version)
        try:
            return dict(engine_settings.validate_settings(raw))
        except engine_settings.SettingsError as exc:
            fields = [
                {
                    "field": f"settings.{error['field']}",
                    "location": "body",
                    "code": "invalid_setting",
                    "message": error["message"],
                }
                for error in exc.errors
            ]
            raise InvalidSettings(
                "the engine does not accept these settings",
                field=fields[0]["field"] if fields else "settings",
                details={"fields": fields},
            ) from None

    def max_players(self, version: str, settings: Mapping[str, Any]) -> int:
        """Races the map can hold: the default map's 30, scaled by the galaxy's area measured
        in race spacings (a conservative estimate; the engine still checks at start)."""
        self.check_version(version)
        spacing = float(settings.get("race_spacing", 25.0))
        side = float(settings.get("galaxy_size", 200.0))
        if spacing <= 0:
            return _ENGINE_PLAYER_LIMIT
        ratio = (side / spacing) / _DEFAULT_SIDE_IN_SPACINGS
        return max(0, min(_ENGINE_PLAYER_LIMIT, int(_DEFAULT_CAPACITY * ratio * ratio)))

    def settings_schema(self, version: str) -> dict[str, Any]:
        self.check_version(version)
        return engine_settings.settings_schema()
