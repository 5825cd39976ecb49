"""Eligibility queries (no business rules), one module per domain."""

from selaras_eligibility.repository.catalogue import (
    CatalogueRepository,
    ProgramFilter,
    covering_prefixes,
)

__all__ = ["CatalogueRepository", "ProgramFilter", "covering_prefixes"]
