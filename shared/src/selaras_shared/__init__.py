"""Selaras shared library: plumbing every service uses, and no business rules."""
