"""The errors a user is meant to read. Every one is a single line that names the thing that is
wrong and the fix; the CLIs and the app catch ``EmojiT2IError`` and print that line, so any
other exception is a bug and keeps its traceback."""


class EmojiT2IError(Exception):
    """Root of every error whose message is meant for the user (one line: what, where, the fix)."""


class UsageError(EmojiT2IError, ValueError):
    """A bad argument or setting: a CLI flag, a ``--set`` key or value, a pipeline option."""


class MissingFile(EmojiT2IError, FileNotFoundError):
    """A file the command needs is not where it should be (a bundle, a checkpoint, the judges)."""
