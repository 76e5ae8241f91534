"""``POST /v1/context``: a token-budgeted, numbered context for a prompt."""

from service.integrations.context.api import ContextController

__all__ = ["ContextController"]
