"""Typed exceptions. Messages say what was expected and what arrived."""


class ShoprankError(Exception):
    """Base class for every error shoprank raises on purpose."""


class SchemaError(ShoprankError, ValueError):
    """A table does not match its data contract (missing file, column, or unreadable type)."""


class DataValidationError(ShoprankError, ValueError):
    """Data broke one or more validation rules; the run stops before any later stage."""


class ConfigError(ShoprankError, ValueError):
    """A configuration value is missing or out of range."""


class EndpointError(ShoprankError, ConnectionError):
    """A remote endpoint (e.g. the Kubeflow Pipelines API) could not be reached or refused the request."""


class CheckpointError(ShoprankError, RuntimeError):
    """A training checkpoint exists but cannot be read."""


def require_known_version(kind: str, version: int, latest: int) -> None:
    """Refuse a pair-format version this code cannot write (one from a newer shoprank)."""
    if not 0 <= version <= latest:
        raise ConfigError(f"expected a {kind} version from 0 to {latest}, got {version}; "
                          "a model saved by a newer shoprank needs that version to score")
