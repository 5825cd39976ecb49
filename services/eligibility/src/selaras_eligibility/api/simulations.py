"""What-if simulations of a draft rule set on a region (nothing is published)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from selaras_eligibility.clients import RegistryClient
from selaras_eligibility.deps import Session
from selaras_eligibility.schemas.screenings import SimulationCreate, SimulationRead
from selaras_eligibility.screening.runner import ScreeningRunner
from selaras_eligibility.service.simulations import SimulationService
from selaras_shared.auth import CurrentPrincipal

router = APIRouter(tags=["simulations"])


async def get_simulation_service(
    request: Request, session: Session, principal: CurrentPrincipal
) -> SimulationService:
    """The simulation service for this request, with the registry client and data dir."""
    registry: RegistryClient | None = getattr(request.app.state, "registry", None)
    # The directory the app's screening runner keeps its states in.
    runner: ScreeningRunner = request.app.state.screening_runner
    return SimulationService(session, principal, registry, runner.data_dir)


@router.post("/simulations")
async def simulate(
    body: SimulationCreate,
    request: Request,
    service: Annotated[SimulationService, Depends(get_simulation_service)],
) -> SimulationRead:
    """Evaluate a draft (stored version or inline document) next to the rules in force:
    who gains and who loses eligibility, counts by village, and the yearly budget change."""
    return await service.simulate(body, request.headers.get("authorization"))
