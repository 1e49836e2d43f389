"""Error types. Every user-facing failure is a NasgenError whose message names the problem."""


class NasgenError(Exception):
    """Base class: the CLI prints these as one line and exits with code 2."""


class InvalidCellError(NasgenError, ValueError):
    """A cell graph violates the GraphNet rules (DESIGN section 3)."""


class InvalidMacroError(NasgenError, ValueError):
    """A macro architecture or HL sequence violates the macro-space rules."""


class MutationNotApplicable(NasgenError):
    """The requested mutation has no valid target in this cell (e.g. add_node on a 6-op cell)."""


class StoreError(NasgenError):
    """The artifact store is unreachable or refused an operation."""


class UnsafeKeyError(StoreError, ValueError):
    """A store path tried to escape the store root (traversal, absolute path, odd characters)."""


class ArtifactMissingError(StoreError, FileNotFoundError):
    """An artifact (or one of its files) is not in the store; a directory without a manifest counts as missing."""


class CorruptArtifactError(StoreError):
    """An artifact file does not match the checksum recorded in its manifest, or cannot be parsed."""


class ConfigError(NasgenError, ValueError):
    """Unknown profile or invalid configuration value."""
