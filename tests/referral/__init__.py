"""Referral service tests."""
