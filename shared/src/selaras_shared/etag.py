"""ETag / If-Match helpers: versions as strong ETags, no lost updates."""

from __future__ import annotations

from selaras_shared.errors import PreconditionFailed, PreconditionRequired
from selaras_shared.i18n import Text


def etag_for(version: int) -> str:
    """The strong ETag of a resource at `version`."""
    return f'"{version}"'


def expected_version(if_match: str | None, *, required: bool) -> int | None:
    """The version an If-Match header asks for; None when absent (or `*`).

    A missing header on an endpoint that requires one is 428; an unparseable one is 412,
    since it cannot match any version.
    """
    if if_match is None or not if_match.strip():
        if required:
            raise PreconditionRequired(
                Text(
                    "Kirim header If-Match dengan ETag terakhir yang Anda baca",
                    "Send If-Match with the ETag you last read",
                )
            )
        return None
    value = if_match.strip()
    if value == "*":
        return None
    # If-Match compares strongly (RFC 9110): a weak ETag never matches.
    value = value.strip('"') if not value.startswith("W/") else ""
    if not (value.isascii() and value.isdigit()):
        raise PreconditionFailed(
            Text(
                "If-Match {value} tidak cocok",
                "If-Match {value} does not match",
                {"value": if_match},
            )
        )
    return int(value)


def stale(current_version: int, if_match: str) -> PreconditionFailed:
    """The 412 for an If-Match that no longer matches; carries the current ETag."""
    return PreconditionFailed(
        Text(
            "Versi {sent} sudah usang; versi terkini {current}. Baca ulang lalu ulangi.",
            "Version {sent} is stale; the current one is {current}. Read again, then retry.",
            {"sent": if_match, "current": etag_for(current_version)},
        ),
        headers={"ETag": etag_for(current_version)},
        current_etag=etag_for(current_version),
    )
