"""Indexer: reads documents, chunks them, embeds them and publishes a FAISS index snapshot.

The read side (``manifest``, ``snapshot``, ``store``, ``embedder``, ``vectorindex``) is what the
service imports; the write side (``builder``, ``cli``) is never imported by the service.
"""

__version__ = "0.1.0"
