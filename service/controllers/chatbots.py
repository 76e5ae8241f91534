"""The chatbot-facing route handlers, registered together by the app factory."""

from __future__ import annotations

from litestar.types import ControllerRouterHandler

from service.controllers.context import ContextController
from service.controllers.dify import DifyController
from service.controllers.vector_stores import VectorStoresController

CHATBOT_HANDLERS: list[ControllerRouterHandler] = [ContextController, VectorStoresController, DifyController]
