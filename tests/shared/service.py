"""A tiny service assembled with `build_service_app`, exercising every piece of the shared frame."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Annotated, Any, Literal

import httpx
import jwt
from fastapi import APIRouter, Depends, FastAPI, Header, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Column, Integer, MetaData, String, Table, insert
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from starlette.exceptions import HTTPException as StarletteHTTPException

from selaras_shared.app import build_service_app
from selaras_shared.auth import CurrentPrincipal, Permission, TokenVerifier
from selaras_shared.db import get_session, make_sessionmaker
from selaras_shared.errors import (
    PROBLEM_JSON,
    PROBLEM_TYPE_PREFIX,
    Conflict,
    FieldIssue,
    InvalidInput,
    InvalidTransition,
    NotFound,
    UpstreamTimeout,
)
from selaras_shared.etag import etag_for, expected_version, stale
from selaras_shared.i18n import Text
from selaras_shared.pagination import MAX_LIMIT, Page, decode_cursor, encode_cursor
from selaras_shared.settings import AuthSettings, ServiceSettings

SECRET = "shared-tests-secret-0123456789-abcdefghij"
AUTH = AuthSettings(jwt_secret=SECRET)
MAX_BODY = 2048
CURRENT_VERSION = 3

METADATA = MetaData()
notes = Table(
    "notes",
    METADATA,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("text", String(100), nullable=False),
)


class Address(BaseModel):
    """A nested object, so that validation errors have dotted paths."""

    model_config = ConfigDict(extra="forbid")

    city: str
    region_code: str = Field(pattern=r"^\d{4}$")


Failure = Literal[
    "not-found",
    "conflict",
    "invalid-transition",
    "custom",
    "timeout",
    "crash",
    "database",
    "pool",
]


class EchoIn(BaseModel):
    """Input of the echo route; `fail` makes the route raise on demand."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=2)
    age: int = Field(ge=0)
    address: Address | None = None
    fail: Failure | None = None


def _failure(kind: Failure) -> Exception:
    failures: dict[str, Callable[[], Exception]] = {
        "not-found": lambda: NotFound(
            Text("Keluarga {id} tidak ditemukan", "Household {id} not found", {"id": 7})
        ),
        "conflict": lambda: Conflict(),
        "invalid-transition": lambda: InvalidTransition(
            Text("Dari {a} ke {b} tidak boleh", "From {a} to {b} is not allowed", {"a": 1, "b": 2})
        ),
        "custom": lambda: InvalidInput(
            errors=[FieldIssue("nik", "nik_checksum", Text("NIK tidak sah", "Invalid NIK"))],
            hint="check-nik",
        ),
        "timeout": lambda: UpstreamTimeout(headers={"Retry-After": "5"}),
        "crash": lambda: RuntimeError("a bug"),
        "database": lambda: OperationalError("SELECT 1", {}, ConnectionError("db down")),
        "pool": lambda: PoolTimeout("QueuePool limit of size 1 overflow 0 reached"),
    }
    return failures[kind]()


class NoteIn(BaseModel):
    """A note to store; `fail` raises after the insert (to show the rollback)."""

    model_config = ConfigDict(extra="forbid")

    text: str
    fail: bool = False


router = APIRouter()
Session = Annotated[AsyncSession, Depends(get_session, scope="function")]


@router.post("/echo")
async def echo(body: EchoIn, principal: CurrentPrincipal) -> dict[str, Any]:
    """Return the caller and the input, or raise the requested error."""
    if body.fail:
        raise _failure(body.fail)
    return {"principal": principal.model_dump(mode="json"), "input": body.model_dump(mode="json")}


@router.get("/regions/{code}")
async def region(code: str, principal: CurrentPrincipal) -> dict[str, str]:
    """Personal data of a region: needs the jurisdiction and the personal_data permission."""
    principal.require_covers(code)
    principal.require(Permission.personal_data)
    return {"region": code}


@router.post("/merge")
async def merge(patch: dict[str, Any]) -> dict[str, Any]:
    """Take any JSON object (for media-type tests)."""
    return patch


@router.post("/upload")
async def upload(request: Request) -> dict[str, int]:
    """Take a raw (CSV) body."""
    return {"bytes": len(await request.body())}


@router.post("/upload/large")
async def upload_large(request: Request) -> dict[str, int]:
    """Take a raw (CSV) body under the larger limit of this path."""
    return {"bytes": len(await request.body())}


@router.get("/items")
async def items(
    cursor: str | None = None, limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 2
) -> Page[int]:
    """Keyset pages over 0..9 by `id`."""
    start = decode_cursor(cursor, ("id",))["id"] if cursor else 0
    page = list(range(start, min(start + limit, 10)))
    next_cursor = encode_cursor({"id": page[-1] + 1}) if page and page[-1] < 9 else None
    return Page(items=page, next_cursor=next_cursor)


@router.put("/items/{item_id}")
async def update_item(
    item_id: int, if_match: Annotated[str | None, Header()] = None
) -> JSONResponse:
    """An optimistic-concurrency update of an item at version CURRENT_VERSION."""
    expected = expected_version(if_match, required=True)
    if expected != CURRENT_VERSION:
        raise stale(CURRENT_VERSION, if_match or "")
    new_etag = etag_for(CURRENT_VERSION + 1)
    return JSONResponse({"id": item_id, "version": CURRENT_VERSION + 1}, headers={"ETag": new_etag})


@router.post("/notes", status_code=201)
async def add_note(body: NoteIn, session: Session) -> dict[str, str]:
    """Insert a note; fail afterwards when asked to."""
    await session.execute(insert(notes).values(text=body.text))
    await session.flush()
    if body.fail:
        raise Conflict()
    return {"text": body.text}


@router.get("/http/{status}")
async def http_error(status: int) -> None:
    """Raise a framework HTTPException (as third-party dependencies do)."""
    raise StarletteHTTPException(status_code=status)


#: The body limit of /api/v1/upload/large.
LARGE_BODY = 4 * MAX_BODY


def make_app(
    url: str,
    engine: AsyncEngine,
    *,
    auth: AuthSettings = AUTH,
    max_body_bytes: int = MAX_BODY,
) -> FastAPI:
    """The test service, with state set by hand (ASGITransport does not run the lifespan)."""
    app = build_service_app(
        title="test",
        description="shared-library test service",
        settings=ServiceSettings(database_url=url, max_body_bytes=max_body_bytes),
        auth=auth,
        routers=[router],
        other_media_types={"/api/v1/upload": ("text/csv",)},
        max_bytes_by_path={"/api/v1/upload/large": LARGE_BODY},
    )
    app.state.engine = engine
    app.state.sessionmaker = make_sessionmaker(engine)
    app.state.verifier = TokenVerifier(auth)
    return app


def token(
    *,
    sub: str | None = "ani",
    role: str | None = "front_office",
    jurisdiction: str | None = "73",
    org: str | None = None,
    ttl: int = 600,
    secret: str = SECRET,
    algorithm: str = "HS256",
    headers: dict[str, Any] | None = None,
    **extra: Any,
) -> str:
    """A signed token with the given claims; a None claim is left out."""
    now = int(time.time())
    claims: dict[str, Any] = {"sub": sub, "role": role, "jurisdiction": jurisdiction, "org": org}
    claims = {k: v for k, v in claims.items() if v is not None}
    claims |= {"iat": now, "exp": now + ttl, **extra}
    return jwt.encode(claims, secret, algorithm=algorithm, headers=headers)


def bearer(raw: str | None = None, **claims: Any) -> dict[str, str]:
    """An Authorization header with `raw` or a token with `claims`."""
    return {"Authorization": f"Bearer {raw if raw is not None else token(**claims)}"}


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """Check the RFC 9457 frame of a problem response and return its body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    body: dict[str, Any] = response.json()
    assert body["type"] == PROBLEM_TYPE_PREFIX + code
    assert body["status"] == status
    assert isinstance(body["title"], str) and body["title"]
    assert isinstance(body["detail"], str) and body["detail"]
    return body
