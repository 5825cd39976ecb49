"""Selaras registry service: households (keluarga), members, regions, history, access log."""
