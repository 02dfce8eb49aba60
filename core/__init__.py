"""Trimodal-Bind engine: model, store, indexer and search. Never imports Qt or torch."""

# First, before any engine module can load onnxruntime: keep the native libraries offline.
from core import offline  # noqa: F401

__version__ = "0.1.0"
