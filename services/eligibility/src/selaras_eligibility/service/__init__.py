"""Eligibility use cases, one module per domain."""

from selaras_eligibility.service.catalogue import CatalogueService
from selaras_eligibility.service.explain import ExplainService

__all__ = ["CatalogueService", "ExplainService"]
