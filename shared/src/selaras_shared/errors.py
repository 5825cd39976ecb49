"""Domain errors and their RFC 9457 `application/problem+json` rendering."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, ClassVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse

from selaras_shared.i18n import Lang, Text, negotiate_language, validation_message
from selaras_shared.requestctx import current_request_id

PROBLEM_JSON = "application/problem+json"
PROBLEM_TYPE_PREFIX = "urn:selaras:problem:"


@dataclass(frozen=True)
class FieldIssue:
    """One problem with one input field (dotted path, machine code, bilingual message)."""

    field: str
    code: str
    message: Text

    def render(self, lang: Lang) -> dict[str, str]:
        """Return the JSON form of this issue."""
        return {"field": self.field, "code": self.code, "message": self.message.render(lang)}


class DomainError(Exception):
    """Base of every error a service raises on purpose; rendered as problem+json."""

    status: ClassVar[int] = 400
    code: ClassVar[str] = "bad-request"
    title: ClassVar[Text] = Text("Permintaan tidak valid", "Bad request")

    def __init__(
        self,
        detail: Text | None = None,
        *,
        errors: list[FieldIssue] | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__((detail or self.title).render("en"))
        self.detail = detail
        self.errors = errors or []
        self.headers = headers or {}
        self.extra = extra

    def to_problem(self, lang: Lang, instance: str | None = None) -> dict[str, Any]:
        """Return the RFC 9457 body of this error in `lang`."""
        body: dict[str, Any] = {
            "type": PROBLEM_TYPE_PREFIX + self.code,
            "title": self.title.render(lang),
            "status": self.status,
            "detail": (self.detail or self.title).render(lang),
        }
        if instance:
            body["instance"] = instance
        request_id = current_request_id()
        if request_id:
            body["request_id"] = request_id
        if self.errors:
            body["errors"] = [issue.render(lang) for issue in self.errors]
        body.update(self.extra)
        return body


class InvalidInput(DomainError):
    """The request is well-formed but its content is not acceptable."""

    status = 422
    code = "validation-error"
    title = Text("Data tidak valid", "Invalid data")


class Unauthorized(DomainError):
    """No valid credentials."""

    status = 401
    code = "unauthorized"
    title = Text("Autentikasi diperlukan", "Authentication required")


class Forbidden(DomainError):
    """The principal may not do this."""

    status = 403
    code = "forbidden"
    title = Text("Akses ditolak", "Forbidden")


class NotFound(DomainError):
    """The resource does not exist, or is outside the principal's jurisdiction."""

    status = 404
    code = "not-found"
    title = Text("Tidak ditemukan", "Not found")


class Conflict(DomainError):
    """The request conflicts with the current state of the resource."""

    status = 409
    code = "conflict"
    title = Text("Konflik dengan data yang ada", "Conflict with existing data")


class InvalidTransition(Conflict):
    """A state change that the resource's state machine does not allow."""

    code = "invalid-transition"
    title = Text("Perubahan status tidak diizinkan", "Transition not allowed")


class PreconditionFailed(DomainError):
    """If-Match did not match the current version (lost update prevented)."""

    status = 412
    code = "precondition-failed"
    title = Text("Data telah diubah oleh pihak lain", "The resource was changed by someone else")


class PreconditionRequired(DomainError):
    """An update was sent without If-Match."""

    status = 428
    code = "precondition-required"
    title = Text("Header If-Match wajib diisi", "If-Match header required")


class PayloadTooLarge(DomainError):
    """The request body exceeds the configured limit."""

    status = 413
    code = "payload-too-large"
    title = Text("Isi permintaan terlalu besar", "Request body too large")


class UnsupportedMediaType(DomainError):
    """The request body has a content type the endpoint does not take."""

    status = 415
    code = "unsupported-media-type"
    title = Text("Jenis konten tidak didukung", "Unsupported media type")


class UpstreamUnavailable(DomainError):
    """Another service or the database could not be reached."""

    status = 503
    code = "upstream-unavailable"
    title = Text("Layanan terkait tidak tersedia", "Upstream service unavailable")


class UpstreamError(DomainError):
    """Another service answered, but with an error it should not have (bad gateway)."""

    status = 502
    code = "upstream-error"
    title = Text("Layanan terkait menjawab dengan galat", "Upstream service error")


class UpstreamTimeout(DomainError):
    """Another service did not answer in time."""

    status = 504
    code = "upstream-timeout"
    title = Text("Layanan terkait tidak menjawab tepat waktu", "Upstream service timed out")


def problem_response(error: DomainError, lang: Lang, instance: str | None = None) -> JSONResponse:
    """Build the problem+json response for `error`."""
    headers = {"Content-Language": lang, **error.headers}
    return JSONResponse(
        error.to_problem(lang, instance),
        status_code=error.status,
        media_type=PROBLEM_JSON,
        headers=headers,
    )


def _lang(request: Request) -> Lang:
    return negotiate_language(request.headers.get("accept-language"))


def _field_path(loc: tuple[int | str, ...], error_type: str) -> str:
    # Drop the FastAPI location prefix ("body", "query", ...) unless it is all there is.
    if error_type == "json_invalid":
        return "body"  # the location is a character offset, not a field
    parts = [str(p) for p in loc]
    if len(parts) > 1 and parts[0] in ("body", "query", "path", "header", "cookie"):
        if parts[0] != "body":
            return parts[1] if len(parts) == 2 else ".".join(parts[1:])
        parts = parts[1:]
    return ".".join(parts)


def validation_problem(exc: RequestValidationError, lang: Lang) -> InvalidInput:
    """Turn FastAPI/pydantic validation errors into one InvalidInput with a field list."""
    issues = []
    for err in exc.errors():
        ctx = {k: v for k, v in (err.get("ctx") or {}).items() if isinstance(v, str | int | float)}
        english = str(err.get("msg", "Invalid value"))
        message = validation_message(str(err["type"]), english, ctx, lang)
        issues.append(
            FieldIssue(
                _field_path(tuple(err["loc"]), str(err["type"])),
                str(err["type"]),
                Text(message, message),
            )
        )
    return InvalidInput(
        Text("Ada {n} kolom yang tidak valid", "{n} field(s) are invalid", {"n": len(issues)}),
        errors=issues,
    )


_HTTP_CODES: dict[int, type[DomainError]] = {
    400: DomainError,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    413: PayloadTooLarge,
    415: UnsupportedMediaType,
}


def _http_error_class(status: int) -> type[DomainError]:
    known = _HTTP_CODES.get(status)
    if known is not None:
        return known
    phrase = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
    return type(
        "HttpError",
        (DomainError,),
        {"status": status, "code": f"http-{status}", "title": Text(phrase, phrase)},
    )


class InternalError(DomainError):
    """A bug: never raised on purpose, rendered for unexpected exceptions."""

    status = 500
    code = "internal-error"
    title = Text("Kesalahan internal", "Internal error")


_log = logging.getLogger("selaras.errors")


class MethodNotAllowed(DomainError):
    """The path exists but not with this method."""

    status = 405
    code = "method-not-allowed"
    title = Text("Metode tidak diizinkan", "Method not allowed")


def install_error_handlers(app: FastAPI) -> None:
    """Render every error, including framework ones, as problem+json."""

    async def on_domain_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, DomainError)
        return problem_response(exc, _lang(request), request.url.path)

    async def on_validation_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        lang = _lang(request)
        return problem_response(validation_problem(exc, lang), lang, request.url.path)

    async def on_http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        if exc.status_code == 405:
            error: DomainError = MethodNotAllowed(headers=dict(exc.headers or {}))
        else:
            error = _http_error_class(exc.status_code)(headers=dict(exc.headers or {}))
        return problem_response(error, _lang(request), request.url.path)

    def database_unavailable(
        what: str, detail: Text
    ) -> Callable[[Request, Exception], Awaitable[JSONResponse]]:
        async def handle(request: Request, exc: Exception) -> JSONResponse:
            _log.warning("%s: %s", what, exc)
            error = UpstreamUnavailable(detail, headers={"Retry-After": "1"})
            return problem_response(error, _lang(request), request.url.path)

        return handle

    # Integrity errors are turned into domain errors by the services; what reaches
    # here is the database being unreachable or overloaded.
    on_database_error = database_unavailable(
        "database error",
        Text("Basis data sedang tidak tersedia; coba lagi", "Database unavailable; retry"),
    )
    # Every pooled connection stayed busy for the pool's timeout: more requests than the
    # pool serves at once (pools do not overflow, see selaras_shared.db).
    on_pool_timeout = database_unavailable(
        "no database connection free",
        Text("Basis data sedang sibuk; coba lagi", "Database busy; retry"),
    )

    async def on_integrity_error(request: Request, exc: Exception) -> JSONResponse:
        # A constraint the service did not turn into a domain error: retrying cannot help.
        _log.warning("integrity error: %s", exc)
        error = Conflict(Text("Data bentrok dengan data yang ada", "Conflicts with existing data"))
        return problem_response(error, _lang(request), request.url.path)

    app.add_exception_handler(DomainError, on_domain_error)
    app.add_exception_handler(IntegrityError, on_integrity_error)
    app.add_exception_handler(DBAPIError, on_database_error)
    app.add_exception_handler(PoolTimeout, on_pool_timeout)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
