"""End-to-end harness: the three services as real uvicorn processes on free loopback ports,
each on its own database (SQLite files, or fresh PostgreSQL databases in the PostgreSQL
run), migrated and loaded through their own CLIs, one shared token secret, and a partner's
webhook receiver listening on a real socket.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.fernet import Fernet

from selaras_eligibility.cli import main as eligibility_cli
from selaras_referral.cli import main as referral_cli
from selaras_registry.cli import main as registry_cli
from selaras_shared.auth import Principal, Role, mint_token

ROOT = Path(__file__).resolve().parents[2]
CATALOGUE = ROOT / "services/eligibility/demo/catalogue.yaml"
SECRET = "e2e-secret-0123456789-0123456789-abcdef"
#: Seconds a process may take to start; far above what it needs.
PROCESS_LIMIT = 60.0
SERVICES = ("registry", "eligibility", "referral")


def free_port() -> int:
    """A TCP port free on loopback right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class System:
    """The running services: their URLs, a token minter, and their logs."""

    urls: dict[str, str]
    logs: Path
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def url(self, service: str, path: str) -> str:
        """The full URL of `path` on `service`."""
        return self.urls[service] + path

    @staticmethod
    def token(
        role: str, jurisdiction: str = "7303", sub: str | None = None, org: str | None = None
    ) -> dict[str, str]:
        """An Authorization header for this principal, signed with the services' secret."""
        principal = Principal(
            subject=sub or f"{role}-{jurisdiction}",
            role=Role(role),
            jurisdiction=jurisdiction,
            organization=org,
        )
        return {"Authorization": f"Bearer {mint_token(principal, SECRET)}"}

    def log_tail(self) -> str:
        """The end of every service's log, to explain a failure."""
        parts = []
        for name in SERVICES:
            path = self.logs / f"{name}.log"
            if path.exists():
                parts.append(f"--- {name}\n{path.read_text(errors='replace')[-3000:]}")
        return "\n".join(parts)


def _environment(databases: dict[str, str], ports: dict[str, int], tmp: Path) -> dict[str, str]:
    """What every process of the system is started with."""
    env = {
        "SELARAS_AUTH_JWT_SECRET": SECRET,
        "SELARAS_REGISTRY_IMPORT_DIR": str(tmp / "imports"),
        "SELARAS_ELIGIBILITY_REGISTRY_URL": f"http://127.0.0.1:{ports['registry']}",
        "SELARAS_REFERRAL_REGISTRY_URL": f"http://127.0.0.1:{ports['registry']}",
        "SELARAS_REFERRAL_ELIGIBILITY_URL": f"http://127.0.0.1:{ports['eligibility']}",
        # Webhooks go out within a fraction of a second of the change they announce.
        "SELARAS_REFERRAL_WEBHOOK_POLL_SECONDS": "0.2",
        # The partner's receiver listens on this machine, which webhooks may not reach
        # unless allowed.
        "SELARAS_REFERRAL_WEBHOOK_ALLOW_NETWORKS": '["127.0.0.0/8", "::1/128"]',
        "SELARAS_REFERRAL_WEBHOOK_SECRET_KEYS": json.dumps([Fernet.generate_key().decode()]),
    }
    for name in SERVICES:
        prefix = f"SELARAS_{name.upper()}_"
        env[prefix + "DATABASE_URL"] = databases[name]
        env[prefix + "LOG_LEVEL"] = "WARNING"
    return env


def _cli(main: Callable[[list[str]], int], argv: list[str], env: dict[str, str]) -> None:
    """Run a service's CLI command with the system's environment (in this process: the
    command is the same as on the command line, without the cost of starting Python)."""
    with pytest.MonkeyPatch.context() as patch:
        for key, value in env.items():
            patch.setenv(key, value)
        assert main(argv) == 0, argv


def _wait_ready(system: System) -> None:
    deadline = time.monotonic() + PROCESS_LIMIT
    waiting = set(SERVICES)
    while waiting:
        for name in sorted(waiting):
            process = system.processes[name]
            if process.poll() is not None:
                pytest.fail(f"{name} exited with {process.returncode}\n{system.log_tail()}")
            try:
                ready = httpx.get(system.url(name, "/readyz"), timeout=1.0).status_code == 200
            except httpx.TransportError:
                ready = False
            if ready:
                waiting.discard(name)
        if waiting and time.monotonic() > deadline:
            pytest.fail(f"not ready: {sorted(waiting)}\n{system.log_tail()}")
        time.sleep(0.1)


def _stop(processes: dict[str, subprocess.Popen[bytes]]) -> None:
    for process in processes.values():
        if process.poll() is None:
            process.terminate()
    for process in processes.values():
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
async def service_databases(databases: Any) -> dict[str, str]:
    """A fresh database URL for each service (SQLite files, or PostgreSQL databases)."""
    return {name: await databases.new(f"e2e_{name}") for name in SERVICES}


@pytest.fixture(scope="module")
def system(
    service_databases: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[System]:
    """The three services, migrated with their CLIs, the demo catalogue loaded, serving."""
    tmp = tmp_path_factory.mktemp("e2e")
    ports = {name: free_port() for name in SERVICES}
    env = _environment(service_databases, ports, tmp)
    python = sys.executable
    for cli in (registry_cli, eligibility_cli, referral_cli):
        _cli(cli, ["migrate"], env)
    _cli(eligibility_cli, ["load", str(CATALOGUE)], env)
    system = System({n: f"http://127.0.0.1:{p}" for n, p in ports.items()}, tmp)
    try:
        for name in SERVICES:
            log = (tmp / f"{name}.log").open("ab")
            system.processes[name] = subprocess.Popen(
                [python, "-m", f"selaras_{name}", "serve", "--port", str(ports[name])],
                env={**os.environ, **env},
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            log.close()  # the child keeps its own descriptor
        _wait_ready(system)
        yield system
    finally:
        _stop(system.processes)


@dataclass
class Delivery:
    """One webhook request as the partner's receiver got it."""

    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        """The body as JSON."""
        return json.loads(self.body)


class Receiver:
    """A partner's webhook endpoint on a real loopback socket, recording what it receives."""

    def __init__(self) -> None:
        self.deliveries: list[Delivery] = []
        self._arrived = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                delivery = Delivery(
                    {k.lower(): v for k, v in self.headers.items()}, self.rfile.read(length)
                )
                with receiver._arrived:
                    receiver.deliveries.append(delivery)
                    receiver._arrived.notify_all()
                self.send_response(204)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass  # keep the test output quiet

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/selaras"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def wait_for(self, wanted: Callable[[Delivery], bool], timeout: float = 15.0) -> Delivery:
        """The first delivery that matches, waiting for it to arrive (bounded)."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while True:
                for delivery in self.deliveries:
                    if wanted(delivery):
                        return delivery
                left = deadline - time.monotonic()
                if left <= 0:
                    seen = [d.body[:200] for d in self.deliveries]
                    pytest.fail(f"no matching webhook delivery within {timeout}s; got {seen}")
                self._arrived.wait(left)


def wait_until(
    done: Callable[[], bool], what: str, state: Callable[[], Any], timeout: float = 15.0
) -> None:
    """Wait (bounded) for something another process does after answering, such as the
    webhook dispatcher logging a delivery; fail with `state()` if it never happens."""
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            pytest.fail(f"not within {timeout}s: {what}; state: {state()}")
        time.sleep(0.1)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """The partner's webhook receiver, listening for the test."""
    hooks = Receiver()
    hooks.thread.start()
    try:
        yield hooks
    finally:
        hooks.server.shutdown()
        hooks.server.server_close()
