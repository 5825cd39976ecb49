"""Referral domain services, one module per domain."""

from __future__ import annotations

from selaras_referral.service.upstream import (
    Caller,
    HouseholdCheck,
    ProgramSuggestion,
    Suggestions,
    Upstream,
)

__all__ = ["Caller", "HouseholdCheck", "ProgramSuggestion", "Suggestions", "Upstream"]
