"""Read models of cases and referrals, and the SLA standing of a referral at a time."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from selaras_referral.codes import ReferralStatus, SlaStatus
from selaras_referral.models import IntakeCase, Referral
from selaras_referral.schemas.cases import CaseRead, CaseSummary
from selaras_referral.schemas.referrals import ReferralRead
from selaras_referral.service.transitions import ACTIVE
from selaras_shared.i18n import Text


def problem_json(text: Text | None) -> dict[str, str] | None:
    """A bilingual problem as stored and served: `{"id": ..., "en": ...}`."""
    return None if text is None else {"id": text.render("id"), "en": text.render("en")}


def sla_status(referral: Referral, now: datetime, at_risk_ratio: float) -> SlaStatus | None:
    """Where the referral stands against the due date now running, if one runs."""
    if referral.status == ReferralStatus.requested:
        start, due = referral.requested_at, referral.response_due_at
    elif referral.status in ACTIVE:
        start, due = referral.accepted_at, referral.resolution_due_at
    else:
        return None
    if start is None or due is None:
        return None
    if now > due:
        return SlaStatus.overdue
    if now - start >= (due - start) * at_risk_ratio:
        return SlaStatus.at_risk
    return SlaStatus.on_track


def referral_read(referral: Referral, now: datetime, at_risk_ratio: float) -> ReferralRead:
    """The referral as its readers see it, with its SLA standing at `now`."""
    data = referral.model_dump()
    data["sla_status"] = sla_status(referral, now, at_risk_ratio)
    return ReferralRead.model_validate(data)


def case_read(case: IntakeCase) -> CaseRead:
    """The case as its readers see it."""
    data = case.model_dump()
    data["registry_check"] = "checked" if case.registry_checked else "unchecked"
    return CaseRead.model_validate(data)


def case_event_data(case: IntakeCase) -> dict[str, Any]:
    """What a case event carries: the case without personal data."""
    return CaseSummary.model_validate(case.model_dump()).model_dump(mode="json")
