"""Errors a user can fix: each carries a one-line message and the exit code the CLI returns.

The command line prints ``str(error)`` and exits with ``error.exit_code``; nothing else is shown,
so messages say what is wrong *and* what to do about it.
"""

from __future__ import annotations

from .exitcodes import FAILED, USAGE


class NstyleError(Exception):
    """A problem with the user's input or environment (not a bug in nstyle)."""

    exit_code = FAILED


class UsageError(NstyleError):
    """Bad arguments or unusable input files: the CLI exits with status 2."""

    exit_code = USAGE


class ImageError(UsageError):
    """An input image cannot be read, or an output image cannot be written."""


class FetchError(NstyleError):
    """A file from a published package (weights, a sample clip) could not be downloaded or verified."""


class WeightsError(FetchError):
    """Pretrained weights could not be fetched, verified, converted or loaded."""


class WriteError(UsageError):
    """An output cannot be written (no space left, a read-only folder, a quota): the message names the file and
    what to do; what was finished before it is kept."""
