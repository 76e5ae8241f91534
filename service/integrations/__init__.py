"""The APIs chatbots and LLM apps plug into, one subpackage each (its controller and schemas):
``context`` (a packed prompt context), ``openai`` (Files and Vector Stores), ``dify`` (External Knowledge
API) and ``mcp`` (Model Context Protocol tools)."""

from __future__ import annotations

from litestar.types import ControllerRouterHandler

from service.integrations.context import ContextController
from service.integrations.dify import DifyController
from service.integrations.openai import OPENAI_HANDLERS

CHATBOT_HANDLERS: list[ControllerRouterHandler] = [ContextController, *OPENAI_HANDLERS, DifyController]
"""The REST route handlers of the integrations (MCP mounts its own ASGI app: ``McpEndpoint``)."""
