"""The OpenAPI schema at ``/schema`` and its Swagger UI, served fully offline: the UI's JavaScript and
CSS come from the ``swagger-ui-bundle-v2`` package (Swagger UI 5, which reads OpenAPI 3.1) under
``/static/swagger-ui/``, not from a CDN."""

from __future__ import annotations

from pathlib import Path

from litestar import Router
from litestar.openapi.config import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin, SwaggerRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme
from litestar.static_files import create_static_files_router

from service import __version__
from service.admission.auth import BEARER_SCHEME, PUBLIC

SWAGGER_ASSETS = "/static/swagger-ui"


def _swagger_folder() -> Path:
    from swagger_ui_bundle import swagger_ui_path

    return Path(str(swagger_ui_path))


def swagger_assets() -> Router:
    """``/static/swagger-ui/*``: the Swagger UI files shipped in the ``swagger-ui-bundle-v2`` package."""
    return create_static_files_router(
        path=SWAGGER_ASSETS, directories=[_swagger_folder()], opt=PUBLIC, name="swagger-ui"
    )


def openapi_config() -> OpenAPIConfig:
    swagger = SwaggerRenderPlugin(
        js_url=f"{SWAGGER_ASSETS}/swagger-ui-bundle.js",
        css_url=f"{SWAGGER_ASSETS}/swagger-ui.css",
        standalone_preset_js_url=f"{SWAGGER_ASSETS}/swagger-ui-standalone-preset.js",
        favicon=f"<link rel='icon' type='image/png' href='{SWAGGER_ASSETS}/favicon-32x32.png'>",
    )
    return OpenAPIConfig(
        title="citesearch",
        version=__version__,
        description="Semantic search over your documents with exact citations.",
        path="/schema",
        render_plugins=[JsonRenderPlugin(), swagger],
        components=Components(security_schemes={BEARER_SCHEME: SecurityScheme(type="http", scheme="bearer")}),
    )
