"""Statistics for dashboards."""

from __future__ import annotations

from fastapi import APIRouter

from selaras_referral.deps import Cases, Now, Session
from selaras_referral.schemas.notes import Stats
from selaras_referral.service.stats import stats

router = APIRouter(tags=["stats"])


@router.get("/stats")
async def referral_stats(session: Session, cases: Cases, now: Now) -> Stats:
    """Counts by status per village, regency, programme and organisation; median hours to
    accept and to complete; the SLA breach rate; outcomes delivered per programme and
    source level. Scoped to the caller's jurisdiction (partners: their organisation)."""
    return await stats(session, cases.principal, now)
