"""Run every Selaras service locally on the embedded default (SQLite files in var/).

Started by `make run` after migrations and demo data. Starts the three services and a demo
partner webhook receiver, picks a demo family that BAZNAS Bantaeng's zakat aid covers,
prints the tokens and a curl walk of that family through the whole referral flow, then keeps
everything in the foreground until Ctrl-C.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

from selaras_shared.auth import Principal, Role, mint_token
from selaras_shared.settings import AuthSettings

SERVICES = [
    ("registry", "selaras_registry", 8001),
    ("eligibility", "selaras_eligibility", 8002),
    ("referral", "selaras_referral", 8003),
]
#: Where the demo partner (BAZNAS Bantaeng) receives its webhooks.
RECEIVER_PORT = 8009
#: The secret deploy/walk.sh subscribes with, so that the demo receiver can verify signatures.
WEBHOOK_SECRET = "demo-webhook-secret-0123456789"
ZAKAT = "BAZNAS_7303_ZAKAT"


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


def signature_valid(header: str, body: bytes, secret: str = WEBHOOK_SECRET) -> bool:
    """Check a `Selaras-Signature: t=<unix>,v1=<hex>` header as a partner would."""
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    signed = parts.get("t", "").encode() + b"." + body
    expected = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts.get("v1", ""))


class _Hook(BaseHTTPRequestHandler):
    """The demo partner's endpoint: prints each event and whether its signature holds."""

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        verified = signature_valid(self.headers.get("Selaras-Signature", ""), body)
        print(
            f"[webhook] {self.headers.get('Selaras-Event-Type')} "
            f"id={self.headers.get('Selaras-Event-Id')} "
            f"signature {'verified' if verified else 'INVALID'}",
            flush=True,
        )
        self.send_response(204 if verified else 401)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


def _demo_family(token: str) -> dict[str, str] | None:
    """A demo household of Kab. Bantaeng that BAZNAS Bantaeng's zakat aid covers."""
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(timeout=10, headers=headers) as http:
        found = http.get(
            "http://127.0.0.1:8001/api/v1/households",
            params={"region": "7303", "desil_max": 3, "limit": 50},
        )
        for household in found.json().get("items", []) if found.status_code == 200 else []:
            explained = http.post(
                "http://127.0.0.1:8002/api/v1/eligibility/explain",
                json={"household_id": household["id"], "programs": [ZAKAT]},
            )
            programs = explained.json().get("programs", []) if explained.is_success else []
            if programs and programs[0]["status"] == "eligible" and household.get("members"):
                return {
                    "HOUSEHOLD": household["id"],
                    "MEMBER": household["members"][0]["id"],
                    "VILLAGE": household["village_code"],
                }
    return None


def _token(subject: str, role: Role, organization: str | None = None) -> str:
    secret = AuthSettings().jwt_secret or ""
    principal = Principal(
        subject=subject, role=role, jurisdiction="7303", organization=organization
    )
    return mint_token(principal, secret)


WALK = Path(__file__).with_name("walk.sh")


def _walk_lines() -> str:
    """The curl walk of deploy/walk.sh, without its header, for pasting line by line."""
    lines = WALK.read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("R="))
    return "\n".join("  " + line if line else "" for line in lines[start:])


def main() -> int:
    """Start the services, print how to use them, wait for Ctrl-C."""
    os.makedirs("var/log", exist_ok=True)
    # Stopped by a supervisor rather than Ctrl-C: still stop the services.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    processes: list[subprocess.Popen[bytes]] = []
    # The demo partner's webhook receiver listens on this machine; webhooks reach only
    # public addresses unless a network is allowed.
    os.environ.setdefault("SELARAS_REFERRAL_WEBHOOK_ALLOW_NETWORKS", '["127.0.0.0/8"]')
    receiver = ThreadingHTTPServer(("127.0.0.1", RECEIVER_PORT), _Hook)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
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
        operator = _token("fo-bantaeng", Role.front_office)
        manager = _token("manager-bantaeng", Role.manager)
        partner = _token("baznas-bantaeng", Role.partner, "baznas-7303")
        print("\nSelaras is running (embedded default, SQLite files in var/):")
        for name, _, port in SERVICES:
            print(f"  {name:<12} http://127.0.0.1:{port}   docs: http://127.0.0.1:{port}/docs")
        print(f"  demo partner webhook receiver  http://127.0.0.1:{RECEIVER_PORT}/hooks")
        print("\nDemo tokens for Kab. Bantaeng (7303), 8 hours:")
        print("  # front office (registers cases, refers, closes)")
        print(f"  export TOKEN={operator}")
        print("  # manager (approves referrals that need it)")
        print(f"  export MANAGER_TOKEN={manager}")
        print("  # BAZNAS Bantaeng partner (sees only referrals to baznas-7303; NIK, names masked)")
        print(f"  export PARTNER_TOKEN={partner}")
        family = _demo_family(operator)
        if family is None:
            print("\nNo demo family for BAZNAS zakat aid found: run `make demo` first.")
        else:
            print("A demo family that BAZNAS zakat aid covers:")
            for key, value in family.items():
                print(f"  export {key}={value}")
            print("\nWalk it through the referral flow: `bash deploy/walk.sh`, or step by step:")
            print(_walk_lines() + "\n")
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
        receiver.shutdown()
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
