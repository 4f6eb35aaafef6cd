"""The exception types for a user's mistake: each message is one line naming the problem."""


class ImpastoError(ValueError):
    """Bad input from the user (a file, a layer name, a number); the command line exits 2."""


class SettingError(ImpastoError):
    """A bad value for one parameter. `parameter` is its name and `detail` the rest of the
    message, so that a caller can name the parameter its own way (the command line: its flag)."""

    def __init__(self, parameter: str, detail: str) -> None:
        super().__init__(f"{parameter} {detail}")
        self.parameter = parameter
        self.detail = detail
