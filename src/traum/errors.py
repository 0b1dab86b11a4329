"""The exceptions Traum raises on purpose.

Every interface has one error boundary (the CLI's ``main``, the web app's exception handler) that turns
a :class:`TraumError` into one line for the user; anything else is a bug and goes to the log with its
traceback. Each class says how its interface should answer: ``exit_code`` for the CLI (as grep: 1 when
some input failed, 2 for a usage or configuration error) and ``status`` for HTTP.
"""

from __future__ import annotations

from typing import ClassVar


class TraumError(Exception):
    """Something the user can act on; ``str(err)`` is the one line they see.

    ``path`` is the file or folder concerned and ``reason`` the short cause, when there is one, so
    that an interface can show or group them without parsing the message.
    """

    exit_code: ClassVar[int] = 1
    status: ClassVar[int] = 400

    def __init__(self, message: str = "", *, path: str | None = None, reason: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.path = path
        self.reason = reason


class ConfigError(TraumError):
    """A flag, setting, device, precision or model folder that cannot work: fix the command, then rerun."""

    exit_code = 2
    status = 400


class ModelNotFound(ConfigError):
    """The model was named as a folder that does not exist: a typo, not a reason to index without it."""


class ModelUnavailable(TraumError):
    """The embedding model cannot be loaded right now (offline with nothing cached): carry on without it."""

    status = 503


class QueryError(TraumError):
    """A search filter that cannot be read (a key like "H minor", a tempo like "fast")."""

    exit_code = 2
    status = 400


class CatalogError(TraumError):
    """The catalog file cannot be opened, is from a newer Traum, or is corrupt."""

    exit_code = 1
    status = 500


class AudioError(TraumError):
    """A file cannot be decoded as audio."""

    status = 422
    #: A transient error (I/O) is worth retrying; a corrupt or unsupported file is not.
    transient: bool = False


class NotAudio(AudioError):
    """libsndfile does not recognise the file's content as audio."""


class TransientAudioError(AudioError):
    transient = True


class NotFound(TraumError):
    """A path, id or file the user named does not exist."""

    exit_code = 1
    status = 404


class InputNotFound(NotFound):
    """A file or folder named on the command line that does not exist, or a folder where a file is wanted:
    a usage error (exit 2), as grep's for a missing input; over HTTP a 404 like any :class:`NotFound`."""

    exit_code = 2
