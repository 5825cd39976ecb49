"""Bulk import of households from CSV and NDJSON files: reading and validating rows
(`records`, `layout`, `reader`), and running import jobs (`runner`, `writer`)."""
