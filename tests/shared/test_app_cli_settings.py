"""The service frame (lifespan), settings from the environment, the token CLI, and JSON logs."""

from __future__ import annotations

import gc
import io
import json
import logging
import sys
from collections.abc import Iterator

import httpx
import pytest
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncEngine

from selaras_shared import cli
from selaras_shared.app import build_service_app
from selaras_shared.auth import Principal, Role, TokenVerifier
from selaras_shared.errors import Unauthorized
from selaras_shared.logs import JsonFormatter, configure_logging
from selaras_shared.requestctx import current_request_id, reset_request_id, set_request_id
from selaras_shared.settings import DEV_JWT_SECRET, AuthSettings, ServiceSettings

from .service import AUTH, router

CLI_SECRET = "cli-secret-0123456789-0123456789-abcdef"


# ---- app -----------------------------------------------------------------------------------


@pytest.fixture
def collector_state() -> Iterator[None]:
    """Give the garbage collector back its thresholds, and unfreeze what a test froze."""
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


async def test_lifespan_creates_and_disposes_resources(
    db_url: str, selaras_logger_state: None, collector_state: None
) -> None:
    app = build_service_app(
        title="t",
        description="d",
        settings=ServiceSettings(
            database_url=db_url, max_body_bytes=2048, log_level="debug", gc_threshold=5000
        ),
        auth=AUTH,
        routers=[router],
    )
    assert app.state.settings.database_url == db_url
    async with app.router.lifespan_context(app):
        engine: AsyncEngine = app.state.engine
        assert str(engine.url) == db_url
        assert isinstance(app.state.verifier, TokenVerifier)
        async with app.state.sessionmaker() as session:
            assert session.bind is engine
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            assert (await client.get("/readyz")).json() == {"status": "ready"}
        assert engine.pool.checkedout() == 0
        # Logging was configured from the settings.
        assert logging.getLogger("selaras").level == logging.DEBUG
        # What was loaded at startup is frozen, and collections wait for the threshold.
        assert gc.get_freeze_count() > 0
        assert gc.get_threshold()[0] == 5000


def test_routers_are_mounted_under_api_v1(db_url: str) -> None:
    app = build_service_app(
        title="t",
        description="d",
        settings=ServiceSettings(database_url=db_url),
        auth=AUTH,
        routers=[router],
    )
    paths = set(app.openapi()["paths"])
    assert {"/healthz", "/readyz", "/api/v1/echo", "/api/v1/items/{item_id}"} <= paths
    assert "/echo" not in paths


# ---- settings ------------------------------------------------------------------------------


def test_service_settings_defaults_and_bounds(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DATABASE_URL", "MAX_BODY_BYTES"):
        monkeypatch.delenv(name, raising=False)
    settings = ServiceSettings()
    assert settings.database_url.startswith("sqlite+aiosqlite://")
    assert settings.max_body_bytes == 1_048_576
    with pytest.raises(ValidationError):
        ServiceSettings(max_body_bytes=1023)
    with pytest.raises(ValidationError):
        ServiceSettings(db_pool_size=0)
    assert (settings.db_max_overflow, settings.gc_threshold) == (0, 10_000)
    with pytest.raises(ValidationError):
        ServiceSettings(db_max_overflow=-1)
    with pytest.raises(ValidationError):
        ServiceSettings(gc_threshold=99)


def test_auth_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SELARAS_AUTH_JWT_SECRET", raising=False)
    assert AuthSettings().jwt_secret == DEV_JWT_SECRET
    monkeypatch.setenv("SELARAS_AUTH_JWT_SECRET", "from-env")
    monkeypatch.setenv("SELARAS_AUTH_JWKS_URL", "https://idp.example/certs")
    monkeypatch.setenv("SELARAS_AUTH_AUDIENCE", "selaras")
    monkeypatch.setenv("SELARAS_AUTH_ALGORITHMS", '["RS256"]')
    monkeypatch.setenv("SELARAS_AUTH_LEEWAY_SECONDS", "5")
    settings = AuthSettings()
    assert settings.jwt_secret == "from-env"
    assert settings.jwks_url == "https://idp.example/certs"
    assert settings.audience == "selaras"
    assert settings.algorithms == ["RS256"]
    assert settings.leeway_seconds == 5


# ---- cli -----------------------------------------------------------------------------------


async def test_cli_prints_a_token_the_verifier_accepts(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SELARAS_AUTH_JWT_SECRET", CLI_SECRET)
    argv = ["--sub", "siti", "--role", "partner", "--jurisdiction", "7371", "--org", "ngo-3"]
    assert cli.main(argv) == 0
    raw = capsys.readouterr().out.strip()
    principal = await TokenVerifier(AuthSettings(jwt_secret=CLI_SECRET)).verify(raw)
    assert principal == Principal(
        subject="siti", role=Role.partner, jurisdiction="7371", organization="ngo-3"
    )
    # Signed with the configured secret, not the dev default.
    with pytest.raises(Unauthorized):
        await TokenVerifier(AuthSettings(jwt_secret=DEV_JWT_SECRET)).verify(raw)


async def test_cli_defaults(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SELARAS_AUTH_JWT_SECRET", CLI_SECRET)
    assert cli.main([]) == 0
    principal = await TokenVerifier(AuthSettings(jwt_secret=CLI_SECRET)).verify(
        capsys.readouterr().out.strip()
    )
    assert principal == Principal(subject="demo-operator", role=Role.front_office, jurisdiction="")


async def test_cli_ttl(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("SELARAS_AUTH_JWT_SECRET", CLI_SECRET)
    assert cli.main(["--ttl", "-3600"]) == 0
    with pytest.raises(Unauthorized):
        await TokenVerifier(AuthSettings(jwt_secret=CLI_SECRET)).verify(
            capsys.readouterr().out.strip()
        )


def test_cli_without_secret_fails(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SELARAS_AUTH_JWT_SECRET", "")
    assert cli.main([]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "SELARAS_AUTH_JWT_SECRET" in captured.err


def test_cli_rejects_an_unknown_role(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SELARAS_AUTH_JWT_SECRET", CLI_SECRET)
    with pytest.raises(SystemExit) as raised:
        cli.main(["--role", "root"])
    assert raised.value.code == 2
    assert capsys.readouterr().out == ""


# ---- request context and logs --------------------------------------------------------------


def test_request_id_context() -> None:
    assert current_request_id() is None
    outer = set_request_id("a")
    inner = set_request_id("b")
    assert current_request_id() == "b"
    reset_request_id(inner)
    assert current_request_id() == "a"
    reset_request_id(outer)
    assert current_request_id() is None


def _record(message: str, exc_info: object = None) -> logging.LogRecord:
    return logging.LogRecord(
        "selaras.test",
        logging.WARNING,
        __file__,
        1,
        message,
        None,
        exc_info,  # type: ignore[arg-type]
    )


def test_json_formatter_plain_message() -> None:
    line = json.loads(JsonFormatter().format(_record("hello")))
    assert line["message"] == "hello"
    assert line["level"] == "WARNING"
    assert line["logger"] == "selaras.test"
    assert line["time"].endswith("+00:00")
    assert "request_id" not in line


def test_json_formatter_merges_json_messages_and_adds_request_id() -> None:
    token = set_request_id("rid-9")
    try:
        line = json.loads(JsonFormatter().format(_record('{"path": "/x", "status": 200}')))
        own = json.loads(JsonFormatter().format(_record('{"request_id": "own"}')))
        listed = json.loads(JsonFormatter().format(_record("[1, 2]")))
    finally:
        reset_request_id(token)
    assert line["path"] == "/x" and line["status"] == 200
    assert line["request_id"] == "rid-9"
    assert own["request_id"] == "own"
    assert listed["message"] == "[1, 2]" and listed["request_id"] == "rid-9"


def test_json_formatter_includes_the_exception() -> None:
    try:
        raise ValueError("kaboom")
    except ValueError:
        exc_info = sys.exc_info()
    line = json.loads(JsonFormatter().format(_record("failed", exc_info)))
    assert "ValueError: kaboom" in line["exception"]


def test_configure_logging_writes_json_lines_to_stdout(
    selaras_logger_state: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    stdout = io.StringIO()
    monkeypatch.setattr(sys, "stdout", stdout)
    configure_logging("warning")
    configure_logging("warning")  # idempotent: still one handler
    logger = logging.getLogger("selaras")
    assert len(logger.handlers) == 1
    assert logger.propagate is False
    logging.getLogger("selaras.access").info("not at this level")
    logging.getLogger("selaras.errors").warning('{"event": "x"}')
    (line,) = [json.loads(text) for text in stdout.getvalue().splitlines()]
    assert line["event"] == "x" and line["logger"] == "selaras.errors"
