"""The errors a user is meant to read. Every one is a single line that names the thing that is
wrong and the fix; the CLIs and the app catch ``EmojiT2IError`` and print that line, so any
other exception is a bug and keeps its traceback."""


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
