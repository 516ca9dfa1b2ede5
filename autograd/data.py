"""Datasets and loaders (filled in by the nn work)."""
