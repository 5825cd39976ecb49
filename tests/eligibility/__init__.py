"""Tests of the eligibility service and its rule language."""
