"""The one error type that bad data raises: a single line naming the thing and the fix."""


class DataError(ValueError):
    """Bad input data. The message is one line: what is wrong, where, and how to fix it."""
