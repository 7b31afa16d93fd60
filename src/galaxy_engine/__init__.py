"""The reference Galaxy game engine: a GalaxyNG game behind the engine HTTP contract.

Standard library only. Importing this package does nothing: the lobby imports just
`galaxy_engine.settings` and `galaxy_engine.version`; the server and CLI live in
`galaxy_engine.server` and `galaxy_engine.cli`.
"""
