"""The one exception type a user is meant to see.

Everything the pipeline rejects (not a video, a corrupt file, a clip that is too
long...) raises :class:`InputError` with a one-line message that the CLI prints
and the app shows.  Anything else escaping is a bug.
"""


class InputError(ValueError):
    """Bad input: the message is one line, written for the person who gave it."""


class NoModelError(RuntimeError):
    """No trained model is installed (or the one asked for does not exist)."""


class OutputError(OSError):
    """A results file could not be written (a full disk, say): the message is one line naming the file."""
