"""The one error type that bad data raises: a single line naming the thing and the fix."""

from emoji_t2i.errors import EmojiT2IError


class DataError(EmojiT2IError, ValueError):
    """Bad input data. The message is one line: what is wrong, where, and how to fix it."""
