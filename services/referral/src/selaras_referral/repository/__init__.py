"""Queries of the referral tables, one module per domain."""
