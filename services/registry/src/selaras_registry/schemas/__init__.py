"""Request and response models of the registry API, one module per domain."""

from selaras_registry.schemas.households import (
    Deactivation,
    DeactivationRead,
    Disability,
    HistoryEntry,
    HouseholdCreate,
    HouseholdFields,
    HouseholdRead,
    HouseholdUpdate,
    Housing,
    Input,
    MemberCreate,
    MemberFields,
    MemberMove,
    MemberRead,
    MemberUpdate,
    RegionRead,
)

__all__ = [
    "Deactivation",
    "DeactivationRead",
    "Disability",
    "HistoryEntry",
    "HouseholdCreate",
    "HouseholdFields",
    "HouseholdRead",
    "HouseholdUpdate",
    "Housing",
    "Input",
    "MemberCreate",
    "MemberFields",
    "MemberMove",
    "MemberRead",
    "MemberUpdate",
    "RegionRead",
]
