"""Webhook signing secrets are stored sealed (encrypted), never in the clear.

A signing secret must be read back to sign each delivery, so it cannot be hashed like a
password; it is encrypted with Fernet (AES-128-CBC with HMAC-SHA256, from
`cryptography`) under the service's keys. A copy of the database, a backup or a replica
therefore holds no usable secret without the keys, which live in the deployment's
configuration (`SELARAS_REFERRAL_WEBHOOK_SECRET_KEYS`, newest first: the first seals,
every one opens, so keys rotate without downtime; `selaras-referral reseal` then seals
every stored secret with the newest). Without configured keys, a key file is created on
first use (`webhook_key_file`, readable by the service's user only), which suits one
machine; replicas must share configured keys.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from selaras_referral.settings import ReferralSettings

#: Marks a sealed value; a stored value without it is a secret written before sealing
#: existed, read as it is and sealed by the next write or `selaras-referral reseal`.
PREFIX = "fernet:"


class SecretUnreadable(Exception):
    """A sealed secret none of the configured keys opens (a key was removed too early)."""


class Sealer:
    """Seals and opens webhook secrets with a ring of Fernet keys."""

    def __init__(self, keys: list[bytes]) -> None:
        if not keys:
            raise ValueError("at least one key is needed")
        self._ring = MultiFernet([Fernet(key) for key in keys])

    @classmethod
    def from_settings(cls, settings: ReferralSettings) -> Sealer:
        """The configured keys, or the key file's (created on first use)."""
        keys = tuple(key.get_secret_value() for key in settings.webhook_secret_keys)
        return _sealer(keys, None if keys else settings.webhook_key_file.resolve())

    def seal(self, secret: str) -> str:
        """The stored form of `secret`."""
        return PREFIX + self._ring.encrypt(secret.encode()).decode()

    def open(self, stored: str) -> str:
        """The secret a stored value holds."""
        if not stored.startswith(PREFIX):
            return stored
        try:
            return self._ring.decrypt(stored[len(PREFIX) :].encode()).decode()
        except InvalidToken as exc:
            raise SecretUnreadable("no configured key opens this webhook secret") from exc

    def reseal(self, stored: str) -> str:
        """`stored` sealed with the newest key (a value written in the clear, sealed)."""
        if not stored.startswith(PREFIX):
            return self.seal(stored)
        try:
            return PREFIX + self._ring.rotate(stored[len(PREFIX) :].encode()).decode()
        except InvalidToken as exc:
            raise SecretUnreadable("no configured key opens this webhook secret") from exc


@functools.lru_cache(maxsize=8)
def _sealer(keys: tuple[str, ...], key_file: Path | None) -> Sealer:
    if key_file is None:
        return Sealer([key.encode() for key in keys])
    return Sealer([_key_from_file(key_file)])


def _key_from_file(path: Path) -> bytes:
    """The key in `path`, created with a new key (mode 0600) when missing. The new file
    appears whole or not at all (linked into place), so of two processes starting at
    once one creates it and both read the same key."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        draft = path.with_name(f".{path.name}.{os.getpid()}")
        descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "wb") as file:
            file.write(Fernet.generate_key() + b"\n")
        try:
            os.link(draft, path)
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    return path.read_bytes().strip()
