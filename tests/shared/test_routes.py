"""Every route of every service runs on the event loop.

FastAPI runs a plain `def` endpoint or dependency in a worker thread: a hop per call that
costs more than the small lookups our dependencies do, and that queues behind the thread
limit under load. Every endpoint and dependency is therefore `async def`.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi import Depends, FastAPI
from fastapi.routing import APIRoute

from selaras_eligibility.app import create_app as eligibility_app
from selaras_referral.app import create_app as referral_app
from selaras_registry.app import create_app as registry_app


def _api_routes(routes: list[Any]) -> Iterator[APIRoute]:
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
            continue
        # An included router (its own routes) or a mount.
        inner = getattr(route, "original_router", None) or route
        yield from _api_routes(list(getattr(inner, "routes", []) or []))


def _runs_on_loop(call: Callable[..., Any]) -> bool:
    target = call if inspect.isfunction(call) or inspect.ismethod(call) else call.__call__
    return inspect.iscoroutinefunction(target) or inspect.isasyncgenfunction(target)


def _threaded(app: FastAPI) -> set[str]:
    found: set[str] = set()

    def walk(dependant: Any, where: str) -> None:
        for sub in dependant.dependencies:
            if sub.call is not None and not _runs_on_loop(sub.call):
                found.add(f"{where}: {getattr(sub.call, '__qualname__', sub.call)}")
            walk(sub, where)

    for route in _api_routes(list(app.routes)):
        where = f"{sorted(route.methods)} {route.path}"
        if not _runs_on_loop(route.endpoint):
            found.add(f"{where}: endpoint {route.endpoint.__qualname__}")
        walk(route.dependant, where)
    return found


@pytest.mark.parametrize(
    "factory", [registry_app, eligibility_app, referral_app], ids=lambda f: f.__module__
)
def test_no_route_runs_in_a_worker_thread(factory: Callable[[], FastAPI]) -> None:
    app = factory()
    assert sum(1 for _ in _api_routes(list(app.routes))) > 10
    assert _threaded(app) == set()


def test_the_check_sees_a_plain_def() -> None:
    app = FastAPI()

    def plain() -> int:
        return 1

    @app.get("/x")
    async def x(value: int = Depends(plain)) -> int:
        return value

    assert _threaded(app) == {"['GET'] /x: test_the_check_sees_a_plain_def.<locals>.plain"}
