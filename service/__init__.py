"""Litestar service: answers questions over HTTP with ranked passages and exact citations."""

__version__ = "0.1.0"
