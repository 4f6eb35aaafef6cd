"""The one exception type for a user's mistake: its message is one line naming the problem."""


class ImpastoError(ValueError):
    """Bad input from the user (a file, a layer name, a number); the command line exits 2."""
