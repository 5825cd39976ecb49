"""Referral-specific errors, built on the shared domain errors."""

from __future__ import annotations
