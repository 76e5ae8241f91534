"""The indexer's error hierarchy: every failure a user can cause or fix is one of these."""

from __future__ import annotations


class IndexerError(Exception):
    """Base class for errors raised by the indexer and its read side."""


class ConfigError(IndexerError):
    """The configuration file or an environment override is invalid."""


class ModelNotFoundError(IndexerError):
    """The configured embedding model cannot be found locally (nothing is downloaded)."""


class EncodingNotFoundError(IndexerError):
    """The tiktoken encoding is not available offline."""


class SnapshotError(IndexerError):
    """A snapshot is missing, incomplete, corrupt or incompatible with the configuration."""


class NoSnapshotError(SnapshotError):
    """No snapshot has been published yet."""


class BuildLockedError(IndexerError):
    """Another build holds the index folder's lock."""


class ShrinkRefusedError(IndexerError):
    """A build would remove every document of the served snapshot, or more than ``index.max_shrink`` of
    them, and ``--allow-shrink`` was not given."""


class IndexWriteError(IndexerError):
    """The index folder cannot be written (read-only, full, wrong owner)."""


class UnreadableDocumentError(IndexerError):
    """A file is not valid for its format (e.g. not UTF-8); it is skipped and reported."""


class InvalidFilterError(IndexerError):
    """A search filter that is malformed, names a field the index does not have, or compares it with a
    value of the wrong type (a client error: HTTP 422)."""

    def __init__(self, message: str, *, param: str = "filters") -> None:
        super().__init__(message)
        self.param = param
        """The request member the filter came in (``filters``, ``metadata_condition``)."""


class OnnxExportError(IndexerError):
    """The model could not be exported to ONNX or quantised (or the export cannot be written)."""


class EngineClosedError(IndexerError):
    """The search engine is shutting down and takes no new queries."""


class RayUnavailableError(IndexerError):
    """``--ray`` was given but Ray is not installed, or the address is not one Ray understands."""


class DistributedBuildError(IndexerError):
    """A build on a Ray cluster failed (a stage raised, a worker died more often than retried, the
    cluster went away); nothing was published."""


class StalledBuildError(DistributedBuildError):
    """No result came back from the Ray cluster for ``ray.stall_seconds`` (its actors all died for
    good, or the stages cannot be scheduled)."""


class SearchTimeoutError(IndexerError):
    """A search ran past its time budget, or was cancelled (its client went away); it stopped at its
    next step and its work was abandoned."""

    def __init__(self, message: str, *, cancelled: bool = False) -> None:
        super().__init__(message)
        self.cancelled = cancelled
