"""The exceptions Traum raises on purpose.

Every interface has one error boundary (the CLI's ``main``, the web app's exception handler) that turns
a :class:`TraumError` into one line for the user; anything else is a bug and goes to the log with its
traceback.
"""

from __future__ import annotations


class TraumError(Exception):
    """Something the user can act on; ``str(err)`` is the one line they see."""


class ModelUnavailable(TraumError):
    """The embedding model cannot be loaded (offline with nothing cached, or a bad directory)."""


class ModelNotFound(ModelUnavailable):
    """The model was named as a folder that does not exist: a typo, not a reason to index without it."""


class CatalogError(TraumError):
    """The catalog file cannot be opened, is from a newer Traum, or is corrupt."""


class AudioError(TraumError):
    """A file cannot be decoded as audio."""

    #: A transient error (I/O) is worth retrying; a corrupt or unsupported file is not.
    transient: bool = False


class NotAudio(AudioError):
    """libsndfile does not recognise the file's content as audio."""


class TransientAudioError(AudioError):
    transient = True


class NotFound(TraumError):
    """A path, id or file the user named does not exist."""


class ConfigError(TraumError):
    """A bad setting or flag combination: a usage error (exit 2, HTTP 400)."""
