"""Selaras eligibility service: programmes, their rule sets, and explained screening."""
