"""Trimodal-Bind engine: model, store, indexer and search. Never imports Qt or torch."""

__version__ = "0.1.0"
