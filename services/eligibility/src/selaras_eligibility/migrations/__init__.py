"""Alembic migrations of the eligibility database."""
