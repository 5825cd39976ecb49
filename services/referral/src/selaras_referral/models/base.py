"""The referral tables' own metadata and base class.

The tables live on their own metadata: other services' models share the process in tests and
tools, and each service's migrations must describe only its own database.
"""

from __future__ import annotations

from sqlalchemy import MetaData
from sqlalchemy.orm import registry
from sqlmodel import SQLModel

metadata = MetaData()


class ReferralModel(SQLModel, registry=registry(metadata=metadata)):
    """Base of the referral tables (own metadata, see the module docstring)."""
