"""The eligibility rule language: documents, compiler, explaining evaluator, JsonLogic export.

A pure package: no database and no HTTP, so the service, a batch job and the tests share it.
"""
