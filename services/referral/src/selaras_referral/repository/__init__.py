"""Referral queries, one module per domain; repositories only flush, never commit."""
