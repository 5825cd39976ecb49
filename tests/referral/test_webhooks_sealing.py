"""Webhook signing secrets are stored sealed, open with any configured key, and move to
the newest key with `selaras-referral reseal`."""

from __future__ import annotations

import asyncio
import stat
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from sqlmodel import select

from selaras_referral.cli import MIGRATIONS, main, reseal
from selaras_referral.models.webhooks import WebhookSubscription
from selaras_referral.sealing import Sealer, SecretUnreadable
from selaras_referral.settings import ReferralSettings
from selaras_shared.db import make_engine, make_sessionmaker
from selaras_shared.migrations import upgrade

SECRET = "partner-secret-0123456789"


def _key() -> bytes:
    return Fernet.generate_key()


def test_a_sealed_secret_holds_nothing_readable_and_opens_again() -> None:
    sealer = Sealer([_key()])
    sealed = sealer.seal(SECRET)
    assert sealed.startswith("fernet:") and SECRET not in sealed
    assert sealer.seal(SECRET) != sealed  # a fresh IV each time
    assert sealer.open(sealed) == SECRET


def test_a_secret_stored_before_sealing_is_read_as_it_is() -> None:
    assert Sealer([_key()]).open(SECRET) == SECRET


def test_keys_rotate_newest_first() -> None:
    old, new = _key(), _key()
    sealed_with_old = Sealer([old]).seal(SECRET)
    ring = Sealer([new, old])
    assert ring.open(sealed_with_old) == SECRET
    resealed = ring.reseal(sealed_with_old)
    assert Sealer([new]).open(resealed) == SECRET
    with pytest.raises(SecretUnreadable):
        Sealer([old]).open(resealed)
    assert Sealer([new]).open(ring.reseal(SECRET)) == SECRET


def test_a_secret_without_its_key_is_unreadable() -> None:
    with pytest.raises(SecretUnreadable, match="no configured key opens"):
        Sealer([_key()]).open(Sealer([_key()]).seal(SECRET))


def test_keys_in_the_settings_are_checked() -> None:
    with pytest.raises(ValueError, match="key 2 is not a Fernet key"):
        ReferralSettings(webhook_secret_keys=[_key().decode(), "not-a-key"])


def test_without_keys_a_private_key_file_is_made_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SELARAS_REFERRAL_WEBHOOK_SECRET_KEYS", raising=False)
    path = tmp_path / "keys" / "webhook.key"
    settings = ReferralSettings(webhook_key_file=path)
    sealed = Sealer.from_settings(settings).seal(SECRET)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    Fernet(path.read_bytes().strip())  # a valid key
    # Another process (no shared cache) reads the same file and opens what this one sealed.
    assert Sealer([path.read_bytes().strip()]).open(sealed) == SECRET
    assert Sealer.from_settings(ReferralSettings(webhook_key_file=path)).open(sealed) == SECRET
    assert sorted(p.name for p in path.parent.iterdir()) == ["webhook.key"]


@pytest.fixture
async def reseal_database(databases: Any) -> str:
    """A database of this test's own: resealing touches every subscription in it."""
    url: str = await databases.new("referral_reseal")
    await asyncio.to_thread(upgrade, MIGRATIONS, url)
    return url


async def _store(url: str, secrets: list[str]) -> None:
    engine = make_engine(url)
    try:
        async with make_sessionmaker(engine)() as session:
            for n, secret in enumerate(secrets):
                session.add(
                    WebhookSubscription(
                        url=f"https://partner{n}.example.org/hook",
                        secret=secret,
                        event_types=["referral.*"],
                        organization=f"org-{n}",
                        jurisdiction="7303",
                        created_by="test",
                    )
                )
            await session.commit()
    finally:
        await engine.dispose()


async def _stored(url: str) -> list[tuple[str, str, int]]:
    engine = make_engine(url)
    try:
        async with make_sessionmaker(engine)() as session:
            rows = await session.execute(
                select(
                    WebhookSubscription.url, WebhookSubscription.secret, WebhookSubscription.version
                ).order_by(WebhookSubscription.url)
            )
            return [(u, s, v) for u, s, v in rows]
    finally:
        await engine.dispose()


async def test_reseal_moves_every_secret_to_the_newest_key(reseal_database: str) -> None:
    old, new = _key(), _key()
    await _store(reseal_database, [Sealer([old]).seal("sealed-0123456789"), "clear-0123456789"])
    settings = ReferralSettings(
        database_url=reseal_database, webhook_secret_keys=[new.decode(), old.decode()]
    )
    assert await reseal(settings) == 2
    rows = await _stored(reseal_database)
    newest = Sealer([new])
    assert [newest.open(secret) for _, secret, _ in rows] == [
        "sealed-0123456789",
        "clear-0123456789",
    ]
    assert all(secret.startswith("fernet:") for _, secret, _ in rows)
    assert [version for *_, version in rows] == [1, 1]  # not a change a partner sees


async def test_reseal_changes_nothing_when_a_secret_will_not_open(
    reseal_database: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    await _store(reseal_database, [Sealer([_key()]).seal("lost-key-0123456789")])
    before = await _stored(reseal_database)
    monkeypatch.setenv("SELARAS_REFERRAL_DATABASE_URL", reseal_database)
    monkeypatch.setenv("SELARAS_REFERRAL_WEBHOOK_SECRET_KEYS", f'["{_key().decode()}"]')
    assert await asyncio.to_thread(main, ["reseal"]) == 1
    assert "no configured key opens" in capsys.readouterr().err
    assert await _stored(reseal_database) == before  # all or nothing
