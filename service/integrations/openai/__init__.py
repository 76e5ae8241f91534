"""OpenAI's Files and Vector Stores APIs over the service: upload files, make vector stores
(collections), attach files to them (written through the service's writer) and search them."""

from service.integrations.openai.api import VectorStoresController
from service.integrations.openai.files_api import FilesController, files_lifespan
from service.integrations.openai.stores_api import (
    VectorStoreAdminController,
    VectorStoreFileBatchesController,
    VectorStoreFilesController,
)

OPENAI_HANDLERS = [
    VectorStoresController,
    VectorStoreAdminController,
    VectorStoreFilesController,
    VectorStoreFileBatchesController,
    FilesController,
]
"""The OpenAI-compatible controllers."""

__all__ = ["OPENAI_HANDLERS", "VectorStoresController", "files_lifespan"]
