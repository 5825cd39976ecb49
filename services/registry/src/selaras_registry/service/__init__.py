"""Registry use cases, one module per domain."""

from selaras_registry.service.households import Caller, RegistryService, Served, Upserted

__all__ = ["Caller", "RegistryService", "Served", "Upserted"]
