"""Exceptions of the engine: one root, narrow subclasses that also subclass the builtin they mean.

Every message quotes the bad value and says what would be valid, so a CLI, the daemon or an editor
plugin can show it to a person unchanged.
"""
from __future__ import annotations


class LipsyncError(Exception):
    """Root of every error the engine raises on purpose."""


class InputError(LipsyncError, ValueError):
    """The caller's input cannot be used as given (bad media, bad audio, bad option)."""


class AudioError(InputError):
    """The speech input is empty, truncated, not audio, or otherwise unusable."""


class MediaError(InputError):
    """The video or image input is unreadable, truncated, or exceeds a configured limit."""


class FaceError(InputError):
    """The face rule is violated: a single image must show exactly one complete face."""


class NoFaceError(FaceError):
    """No usable face was found."""


class MultipleFacesError(FaceError):
    """More than one face was found where exactly one is required."""


class ModelError(LipsyncError):
    """Model weights are missing, corrupt, fail their checksum, or do not fit the code."""


class RenderCancelled(LipsyncError):
    """The caller cancelled the render; nothing was written at the output path."""


class OutputError(LipsyncError, OSError):
    """The output could not be written (disk full, permissions); nothing was left at the final path."""
