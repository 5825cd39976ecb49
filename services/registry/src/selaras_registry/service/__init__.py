"""Registry use cases, one module per domain."""

from selaras_registry.service.households import (
    Caller,
    HouseholdReads,
    RegistryService,
    Served,
    Upserted,
)

__all__ = ["Caller", "HouseholdReads", "RegistryService", "Served", "Upserted"]
