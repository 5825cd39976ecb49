"""The baseline of `bench/get_household.py`: a bare FastAPI endpoint returning a constant."""

from __future__ import annotations

from fastapi import FastAPI

app = FastAPI()

_CONSTANT = {"id": "00000000-0000-4000-8000-000000000000", "status": "active"}


@app.get("/healthz")
async def healthz() -> dict[str, str]:
    """Readiness for the benchmark driver."""
    return {"status": "ok"}


@app.get("/constant/{item_id}")
async def constant(item_id: str) -> dict[str, str]:
    """The same answer every time, with no database and no middleware."""
    return _CONSTANT
