"""Batch screening of a region: columnar outcomes, the state kept between runs, the runner."""
