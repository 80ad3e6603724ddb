"""Thin adapters over atlassian-python-api: they speak HTTP and return domain values."""
