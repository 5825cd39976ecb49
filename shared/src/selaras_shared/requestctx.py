"""Per-request context (request id) carried in a context variable for logs and problems."""

from __future__ import annotations

from contextvars import ContextVar

_request_id: ContextVar[str | None] = ContextVar("selaras_request_id", default=None)


def current_request_id() -> str | None:
    """Return the id of the request being served, if any."""
    return _request_id.get()


def set_request_id(value: str | None) -> object:
    """Set the current request id; returns a token for `reset_request_id`."""
    return _request_id.set(value)


def reset_request_id(token: object) -> None:
    """Restore the request id that was current before `set_request_id`."""
    _request_id.reset(token)  # type: ignore[arg-type]
