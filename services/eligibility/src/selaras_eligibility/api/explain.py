"""Explain one household's eligibility; export a programme's rules as portable JsonLogic."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from selaras_eligibility.clients import RegistryClient
from selaras_eligibility.deps import Session
from selaras_eligibility.schemas.explain import ExplainRequest, ExplainResponse, JsonLogicExport
from selaras_eligibility.service import ExplainService
from selaras_shared.auth import CurrentPrincipal
from selaras_shared.i18n import negotiate_language

router = APIRouter()


async def get_explain_service(
    request: Request, session: Session, principal: CurrentPrincipal
) -> ExplainService:
    """The explain service for this request, with the app's registry client."""
    registry: RegistryClient | None = getattr(request.app.state, "registry", None)
    return ExplainService(session, principal, registry)


Explainer = Annotated[ExplainService, Depends(get_explain_service)]


@router.post("/eligibility/explain", tags=["eligibility"])
async def explain(body: ExplainRequest, request: Request, service: Explainer) -> ExplainResponse:
    """Each programme covering the household: eligible / not eligible / unknown, criterion
    by criterion, with inputs, dated parameters, missing fields and the rule version."""
    accept_language = request.headers.get("accept-language")
    return await service.explain(
        body,
        lang=negotiate_language(accept_language),
        authorization=request.headers.get("authorization"),
        accept_language=accept_language,
    )


@router.get("/programs/{program_id}/rules/jsonlogic", tags=["rule sets"])
async def export_jsonlogic(
    program_id: uuid.UUID,
    service: Explainer,
    on: Annotated[date | None, Query(description="the date; today in WITA if absent")] = None,
) -> JsonLogicExport:
    """The published rule set in force on `on` as standard JsonLogic (one rule per
    criterion, parameters filled in), with the description of the input it reads."""
    return await service.jsonlogic(program_id, on)
