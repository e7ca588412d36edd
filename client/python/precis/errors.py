"""The base exception of the Precis client. One subclass per status code of
include/precis/status.h is generated into precis/_status.py at build time."""


class PrecisError(Exception):
    """A request failed. `code` is the status code (include/precis/status.h),
    `status` its name (e.g. "NOT_FOUND"), `message` the server's detail."""

    code = -1
    status = "UNKNOWN"

    def __init__(self, message="", code=None):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code

    def __str__(self):
        return "%s: %s" % (self.status, self.message) if self.message else self.status


def error_for(code, message):
    """The exception instance for a status code (PrecisError for unknown codes)."""
    from ._status import BY_CODE
    cls = BY_CODE.get(code)
    if cls is None:
        e = PrecisError(message, code)
        e.status = "STATUS_%d" % code
        return e
    return cls(message)
