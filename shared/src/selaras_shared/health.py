"""`/healthz` (the process is alive) and `/readyz` (its database answers)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from selaras_shared.errors import UpstreamUnavailable
from selaras_shared.i18n import Text

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """Liveness: the process answers."""
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(request: Request) -> dict[str, str]:
    """Readiness: the service's database answers a trivial query."""
    engine: AsyncEngine = request.app.state.engine
    try:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except (SQLAlchemyError, OSError) as exc:
        raise UpstreamUnavailable(
            Text("Basis data tidak dapat dihubungi", "Database unreachable"),
        ) from exc
    return {"status": "ready"}
