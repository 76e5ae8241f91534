"""MCP (Model Context Protocol): the ``search`` and ``fetch`` tools, over HTTP at ``/mcp`` or stdio."""

from service.integrations.mcp.endpoint import McpEndpoint, run_stdio

__all__ = ["McpEndpoint", "run_stdio"]
