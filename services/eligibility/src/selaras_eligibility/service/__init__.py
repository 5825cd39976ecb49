"""Eligibility use cases, one module per domain."""

from selaras_eligibility.service.catalogue import CatalogueService

__all__ = ["CatalogueService"]
