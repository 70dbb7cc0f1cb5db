"""Every failure the server reports is an OpenAI-style error object:

    {"error": {"message": "...", "type": "invalid_request_error", "param": null, "code": null}}

so the `openai` client raises its usual typed exceptions (BadRequestError, NotFoundError, ...)
with our one-line message. Pydantic's 422 becomes a 400, as OpenAI answers a bad body.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..core.errors import T2LError

log = logging.getLogger("t2l_edge.server")

_TYPES = {400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
          404: "not_found_error", 409: "invalid_request_error", 413: "invalid_request_error",
          429: "rate_limit_error", 503: "server_overloaded"}


class ApiError(T2LError):
    """A user error with an HTTP status and an OpenAI error code."""

    def __init__(self, status: int, message: str, hint: str | None = None, code: str | None = None,
                 param: str | None = None):
        super().__init__(message, hint)
        self.status, self.code, self.param = status, code, param


def error_body(status: int, message: str, code: str | None = None, param: str | None = None) -> dict:
    return {"error": {"message": message, "type": _TYPES.get(status, "server_error" if status >= 500 else
                                                             "invalid_request_error"),
                      "param": param, "code": code}}


def as_error(exc: BaseException) -> tuple[int, dict]:
    """(status, body) for any exception: user errors keep their message, bugs do not leak."""
    if isinstance(exc, ApiError):
        return exc.status, error_body(exc.status, exc.one_line(), exc.code, exc.param)
    if isinstance(exc, T2LError):
        return 400, error_body(400, exc.one_line())
    log.exception("internal error", exc_info=exc)
    return 500, error_body(500, f"internal error: {type(exc).__name__} (see the server log)")


def _union_tag(part) -> bool:
    return isinstance(part, str) and ("[" in part or part[:1].isupper() or part in ("str", "int", "float", "bool"))


def _validation_message(exc: RequestValidationError) -> tuple[str, str | None]:
    err = exc.errors()[0]
    # pydantic names the union member it tried ("T2LRef", "list[T2LRef]", "str"): not a field
    loc = [str(x) for x in err.get("loc", ()) if x != "body" and not _union_tag(x)]
    where = ".".join(loc)
    kind = err.get("type", "")
    if kind == "json_invalid":
        return f"the body is not valid JSON ({err.get('ctx', {}).get('error', 'parse error')})", None
    if kind == "extra_forbidden":
        return f"unknown field '{where}'", where
    if not where and kind in ("model_attributes_type", "dict_type", "list_type"):
        return "the body must be a JSON " + ("array" if kind == "list_type" else "object"), None
    if kind == "missing":
        return f"missing field '{where}'", where
    msg = str(err.get("msg", "invalid value")).removeprefix("Value error, ")
    return (f"{where}: {msg}" if where else msg), where or None


def install_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError):
        message, param = _validation_message(exc)
        return JSONResponse(error_body(400, message, param=param), status_code=400)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        message = exc.detail if isinstance(exc.detail, str) else "request failed"
        return JSONResponse(error_body(exc.status_code, message), status_code=exc.status_code,
                            headers=getattr(exc, "headers", None))

    @app.exception_handler(T2LError)
    async def _t2l(request: Request, exc: T2LError):
        status, body = as_error(exc)
        return JSONResponse(body, status_code=status)

    @app.exception_handler(Exception)
    async def _bug(request: Request, exc: Exception):
        status, body = as_error(exc)
        return JSONResponse(body, status_code=status)
