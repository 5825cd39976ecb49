"""Shared-library fixtures: the test service on a temporary SQLite file, and HTTP clients."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from selaras_shared.db import make_engine

from .service import METADATA, make_app


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'x.db'}"


@pytest.fixture
async def engine(db_url: str) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(db_url)
    async with engine.begin() as connection:
        await connection.run_sync(METADATA.create_all)
    yield engine
    await engine.dispose()


@pytest.fixture
def app(db_url: str, engine: AsyncEngine) -> FastAPI:
    return make_app(db_url, engine)


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        yield c


@pytest.fixture
async def crash_client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A client that gets the 500 response instead of the re-raised exception."""
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        yield c


class Records(logging.Handler):
    """Collects the records of one logger, whatever its propagation setting."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def selaras_logger_state() -> Iterator[None]:
    """Restore the `selaras` loggers after a test that reconfigures them."""
    names = ["selaras", "selaras.access", "selaras.errors"]
    saved = {
        name: (
            list(logging.getLogger(name).handlers),
            logging.getLogger(name).level,
            logging.getLogger(name).propagate,
        )
        for name in names
    }
    yield
    for name, (handlers, level, propagate) in saved.items():
        logger = logging.getLogger(name)
        logger.handlers[:] = handlers
        logger.setLevel(level)
        logger.propagate = propagate


@pytest.fixture
def access_log(selaras_logger_state: None) -> Iterator[Records]:
    """The records written to `selaras.access` during the test."""
    handler = Records()
    logger = logging.getLogger("selaras.access")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield handler
    logger.removeHandler(handler)
