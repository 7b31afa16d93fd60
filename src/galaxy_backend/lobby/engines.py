"""Which engine versions the backend can run, and what each accepts as game settings.

Until the runtime brings its registry of engine images, the only known version is the
reference engine bundled with the backend; its settings are data in `galaxy_engine.settings`
(importing it, and `galaxy_engine.version`, loads nothing else and runs no engine).
"""

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from galaxy_backend.kernel.errors import InvalidInput
from galaxy_engine import settings as engine_settings
from galaxy_engine.version import ENGINE_VERSION

# The engine's map generator places a race's primary homeworld at least `race_spacing` from
# any other; its default map (200 ly, 25 ly spacing) holds 30 races.
_DEFAULT_CAPACITY = 30
_DEFAULT_SIDE_IN_SPACINGS = 200.0 / 25.0
_ENGINE_PLAYER_LIMIT = 100


class EngineCatalog(Protocol):
    """The engine versions games may use (the runtime issue replaces this with its registry)."""

    def default_version(self) -> str: ...

    def known_versions(self) -> Sequence[str]: ...

    def validate_settings(self, version: str, raw: Mapping[str, Any]) -> dict[str, Any]:
        """The normalised settings, or InvalidInput naming `settings.<name>`."""
        ...

    def max_players(self, version: str, settings: Mapping[str, Any]) -> int: ...

    def settings_schema(self, version: str) -> dict[str, Any]:
        """JSON Schema of the settings object the version takes."""
        ...


class BundledEngine:
    """The reference engine shipped in this package: one version."""

    def default_version(self) -> str:
        return ENGINE_VERSION

    def known_versions(self) -> Sequence[str]:
        return (ENGINE_VERSION,)

    def check_version(self, version: str) -> None:
        if version not in self.known_versions():
            raise InvalidInput(
                f"engine version {version!r} is not one this backend runs",
                field="engine_version",
                code="unknown_engine_version",
                details={"known": list(self.known_versions())},
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
            raise InvalidInput(
                "the engine does not accept these settings",
                field=fields[0]["field"] if fields else "settings",
                code="invalid_settings",
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
