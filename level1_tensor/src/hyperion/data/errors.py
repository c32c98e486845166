"""Errors raised when a dataset cannot be found or does not look the way it should.

Both name the file (or the package) involved and say what to do next: a learner who sees one should
never need to read this module's source to recover.
"""

from __future__ import annotations

__all__ = ["CorruptDatasetError", "DatasetNotFoundError", "IdxFormatError"]


class DatasetNotFoundError(FileNotFoundError):
    """The dataset is not installed or not where we looked; the message says how to get it."""


class CorruptDatasetError(ValueError):
    """The dataset was found but failed verification (size, class counts or checksum)."""


class IdxFormatError(CorruptDatasetError):
    """A file is not a well-formed IDX file (bad magic, unknown dtype code, wrong length)."""
