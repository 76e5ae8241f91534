"""The search page people use in a browser: ``GET /`` (ask, see ranked passages with citations) and
``GET /documents/{doc_id}`` (the document with the cited passage highlighted), plain HTML, CSS and
JavaScript shipped in this package and served under ``/static/app/``; nothing comes from elsewhere."""

from service.web.page import ASSETS_PATH, page_routes

__all__ = ["ASSETS_PATH", "page_routes"]
