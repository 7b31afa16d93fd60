"""The engine's version, readable without importing anything else."""

ENGINE_VERSION = "1.0.0"
__version__ = ENGINE_VERSION
