"""Dify's External Knowledge API: ``POST /retrieval``."""

from service.integrations.dify.api import DifyController

__all__ = ["DifyController"]
