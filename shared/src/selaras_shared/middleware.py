"""Pure ASGI middleware: request id and JSON access log; request body guard."""

from __future__ import annotations

import json
import logging
import time
import uuid
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from selaras_shared.errors import (
    InternalError,
    PayloadTooLarge,
    UnsupportedMediaType,
    problem_response,
)
from selaras_shared.i18n import Text, negotiate_language
from selaras_shared.requestctx import reset_request_id, set_request_id

access_logger = logging.getLogger("selaras.access")
error_logger = logging.getLogger("selaras.errors")

_REQUEST_ID_MAX = 128


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return str(value.decode("latin-1"))
    return None


class RequestContextMiddleware:
    """Assign or propagate `X-Request-ID`, echo it back, and log one JSON line per request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = _header(scope, b"x-request-id")
        request_id = incoming if incoming and len(incoming) <= _REQUEST_ID_MAX else uuid.uuid4().hex
        token = set_request_id(request_id)
        started = time.perf_counter()
        status = 500

        started_response = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, started_response
            if message["type"] == "http.response.start":
                started_response = True
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode("latin-1")))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            # A bug, not bad input: log it and answer a problem that names the request.
            error_logger.exception("unhandled error")
            if started_response:
                raise
            lang = negotiate_language(_header(scope, b"accept-language"))
            await problem_response(InternalError(), lang, scope["path"])(
                scope, receive, send_with_id
            )
        finally:
            principal = scope.get("state", {}).get("principal")
            record: dict[str, Any] = {
                "request_id": request_id,
                "method": scope["method"],
                "path": scope["path"],
                "status": status,
                "duration_ms": round((time.perf_counter() - started) * 1000, 2),
            }
            if principal is not None:
                record["subject"] = principal.subject
                record["role"] = principal.role.value
            access_logger.info(json.dumps(record))
            reset_request_id(token)


_BODY_METHODS = {"POST", "PUT", "PATCH"}


class BodyGuardMiddleware:
    """Refuse oversized bodies (413) and, on JSON APIs, bodies that are not JSON (415).

    `other_media_types` maps a path prefix to the extra media types it accepts
    (for example CSV uploads).
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_bytes: int,
        other_media_types: dict[str, tuple[str, ...]] | None = None,
        max_bytes_by_path: dict[str, int] | None = None,
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.other_media_types = other_media_types or {}
        # Longest prefix first, so that the most specific limit wins.
        self.max_bytes_by_path = sorted(
            (max_bytes_by_path or {}).items(), key=lambda item: len(item[0]), reverse=True
        )

    def _limit(self, path: str) -> int:
        return next(
            (limit for prefix, limit in self.max_bytes_by_path if path.startswith(prefix)),
            self.max_bytes,
        )

    def _accepted(self, path: str, media_type: str) -> bool:
        if media_type == "application/json" or (
            media_type.startswith("application/") and media_type.endswith("+json")
        ):
            return True
        return any(
            path.startswith(prefix) and media_type in types
            for prefix, types in self.other_media_types.items()
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in _BODY_METHODS:
            await self.app(scope, receive, send)
            return
        lang = negotiate_language(_header(scope, b"accept-language"))
        limit = self._limit(scope["path"])
        length_header = _header(scope, b"content-length")
        if length_header is not None and length_header.isdigit() and int(length_header) > limit:
            await self._refuse(PayloadTooLarge(_too_large(limit)), lang, scope, receive, send)
            return
        content_type = _header(scope, b"content-type")
        has_body = length_header != "0" and (
            length_header is not None or _header(scope, b"transfer-encoding") is not None
        )
        if has_body:
            media_type = (content_type or "").split(";")[0].strip().lower()
            if not self._accepted(scope["path"], media_type):
                error = UnsupportedMediaType(
                    Text(
                        "Jenis konten {media_type} tidak didukung; gunakan application/json",
                        "Content type {media_type} is not supported; use application/json",
                        {"media_type": media_type or "(none)"},
                    )
                )
                await self._refuse(error, lang, scope, receive, send)
                return

        received = 0
        exceeded = False
        response_started = False

        async def limited_receive() -> Message:
            nonlocal received, exceeded
            if exceeded:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    # Tell the app the client left; the 413 is sent below instead.
                    exceeded = True
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal response_started
            if exceeded and not response_started:
                return  # the app's answer to a truncated body is replaced by the 413
            response_started = response_started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except Exception:
            if not exceeded or response_started:
                raise
        if exceeded and not response_started:
            await self._refuse(PayloadTooLarge(_too_large(limit)), lang, scope, receive, send)

    @staticmethod
    async def _refuse(error: Any, lang: Any, scope: Scope, receive: Receive, send: Send) -> None:
        response = problem_response(error, lang, scope["path"])
        await response(scope, receive, send)


def _too_large(limit: int) -> Text:
    return Text(
        "Isi permintaan melebihi {limit} byte",
        "Request body exceeds {limit} bytes",
        {"limit": limit},
    )
