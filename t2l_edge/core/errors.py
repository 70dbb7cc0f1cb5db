"""User-facing errors.

Every problem a user can cause (bad input, missing file, mismatched base) raises T2LError.
The CLI prints it as one line and exits non-zero; tracebacks are only for real bugs.
"""


class T2LError(Exception):
    """An error the user can fix. `hint` says what to do next."""

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint

    def one_line(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message
