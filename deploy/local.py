"""Run every Selaras service locally on the embedded default (SQLite files in var/).

Started by `make run` after migrations and demo data. Prints the URLs, demo tokens and a
first request, then keeps the services in the foreground until Ctrl-C.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import httpx

from selaras_shared.auth import Principal, Role, mint_token
from selaras_shared.settings import AuthSettings

SERVICES = [
    ("registry", "selaras_registry", 8001),
    ("eligibility", "selaras_eligibility", 8002),
    ("referral", "selaras_referral", 8003),
]


def _wait_ready(
    name: str, port: int, process: subprocess.Popen[bytes], timeout: float = 30.0
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{name} exited with code {process.returncode}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"{name} did not become ready on port {port}")


def main() -> int:
    """Start the services, print how to use them, wait for Ctrl-C."""
    os.makedirs("var/log", exist_ok=True)
    # Stopped by a supervisor rather than Ctrl-C: still stop the services.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    processes: list[subprocess.Popen[bytes]] = []
    try:
        for name, module, port in SERVICES:
            log = open(f"var/log/{name}.log", "ab")  # noqa: SIM115 (lives as long as the child)
            processes.append(
                subprocess.Popen(
                    [sys.executable, "-m", module, "serve", "--port", str(port)],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
        for (name, _, port), process in zip(SERVICES, processes, strict=True):
            _wait_ready(name, port, process)
        secret = AuthSettings().jwt_secret or ""
        operator = mint_token(
            Principal(subject="fo-bonto-jai", role=Role.front_office, jurisdiction="7303"), secret
        )
        partner = mint_token(
            Principal(
                subject="baznas-bantaeng",
                role=Role.partner,
                jurisdiction="7303",
                organization="baznas-7303",
            ),
            secret,
        )
        print("\nSelaras is running (embedded default, SQLite files in var/):")
        for name, _, port in SERVICES:
            print(f"  {name:<12} http://127.0.0.1:{port}   docs: http://127.0.0.1:{port}/docs")
        print("\nDemo token, front office of Kab. Bantaeng (7303), 8 hours:")
        print(f"  export TOKEN={operator}")
        print("Demo token, partner without personal-data rights (NIK and names masked):")
        print(f"  export PARTNER_TOKEN={partner}")
        print("Try:")
        print(
            '  curl -s -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:8001/api/v1/households?region=7303&desil_max=2&limit=2"'
        )
        print(
            '  curl -s -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:8002/api/v1/programs?region=7303"'
        )
        print(
            "Mint other tokens: .tools/bin/uv run selaras-token --role manager --jurisdiction 7310"
        )
        print("Logs in var/log/. Ctrl-C stops everything.\n", flush=True)
        while all(p.poll() is None for p in processes):
            time.sleep(0.5)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


if __name__ == "__main__":
    raise SystemExit(main())
