"""Registry queries (no business rules), one module per domain."""

from selaras_registry.repository.households import (
    AccessLogRepository,
    CurrentReads,
    HouseholdFilter,
    HouseholdRepository,
    VersionRepository,
    in_region,
)

__all__ = [
    "AccessLogRepository",
    "CurrentReads",
    "HouseholdFilter",
    "HouseholdRepository",
    "VersionRepository",
    "in_region",
]
