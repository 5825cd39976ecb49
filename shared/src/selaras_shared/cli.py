"""`selaras-token`: mint a bearer token for the embedded default (shared-secret HS256)."""

from __future__ import annotations

import argparse
import re
import sys

from selaras_shared.auth import REGION_PREFIX_PATTERN, Principal, Role, mint_token
from selaras_shared.settings import AuthSettings


def _jurisdiction(value: str) -> str:
    if not re.fullmatch(REGION_PREFIX_PATTERN, value):
        raise argparse.ArgumentTypeError(f"not a region code prefix: {value!r}")
    return value


def main(argv: list[str] | None = None) -> int:
    """Print a signed token for the principal described by the arguments."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sub", default="demo-operator", help="subject (user id)")
    parser.add_argument("--role", default=Role.front_office.value, choices=[r.value for r in Role])
    parser.add_argument(
        "--jurisdiction",
        default="",
        type=_jurisdiction,
        help="region code prefix (2, 4, 6 or 10 digits); empty = national",
    )
    parser.add_argument("--org", default=None, help="organisation id (partners)")
    parser.add_argument("--ttl", type=int, default=8 * 3600, help="lifetime in seconds")
    args = parser.parse_args(argv)
    secret = AuthSettings().jwt_secret
    if not secret:
        print("SELARAS_AUTH_JWT_SECRET is not set", file=sys.stderr)
        return 2
    principal = Principal(
        subject=args.sub,
        role=Role(args.role),
        jurisdiction=args.jurisdiction,
        organization=args.org,
    )
    print(mint_token(principal, secret, ttl_seconds=args.ttl))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
