"""OpenAI's Vector Store search: ``POST /v1/vector_stores/{vector_store_id}/search``."""

from service.integrations.openai.api import VectorStoresController

__all__ = ["VectorStoresController"]
