"""The errors a user is meant to read. Every one is a single line that names the thing that is
wrong and the fix; the CLIs and the app catch ``EmojiT2IError`` and print that line, so any
other exception is a bug and keeps its traceback. ``warn_at_caller`` is the same for warnings."""

import os
import sys
import warnings

_PACKAGE = os.path.dirname(os.path.abspath(__file__)) + os.sep


def warn_at_caller(message: str) -> None:
    """``warnings.warn`` pointing at the first line outside this package, the user's own call,
    however deep the package's calls go (``pipe.sample`` and ``pipe.inpaint`` reach the same
    check at different depths, so no fixed ``stacklevel`` is right for both)."""
    frame, level = sys._getframe(1), 2
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(_PACKAGE):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, UserWarning, stacklevel=level)


def one_line(error: Exception, limit: int = 160) -> str:
    """The first line of an exception's message (its type's name if it has none), for quoting
    a library's error inside one of ours."""
    text = str(error).strip()
    return text.splitlines()[0][:limit] if text else type(error).__name__


class EmojiT2IError(Exception):
    """Root of every error whose message is meant for the user (one line: what, where, the fix)."""


class UsageError(EmojiT2IError, ValueError):
    """A bad argument or setting: a CLI flag, a ``--set`` key or value, a pipeline option."""


class MissingFile(EmojiT2IError, FileNotFoundError):
    """A file the command needs is not where it should be (a bundle, a checkpoint, the judges)."""
