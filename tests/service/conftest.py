"""Fixtures of the HTTP tests: in-process test clients of apps built by the factory."""

from __future__ import annotations

from collections.abc import Iterator

import msgspec
import pytest
from litestar.testing import TestClient

from indexer.embedding import Embedder
from service.app import create_app
from service.settings import AppSettings, AuthSettings

KEY = "chatbot-test-key-0001"


@pytest.fixture(scope="module")
def client(seeded_settings: AppSettings, embedder: Embedder) -> Iterator[TestClient]:  # type: ignore[type-arg]
    with TestClient(app=create_app(seeded_settings, embedder=embedder)) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def keyed(seeded_settings: AppSettings, embedder: Embedder) -> Iterator[TestClient]:  # type: ignore[type-arg]
    """A test client of an app that requires the API key ``KEY``."""
    settings = msgspec.structs.replace(seeded_settings, auth=AuthSettings(api_keys=(KEY,)))
    with TestClient(app=create_app(settings, embedder=embedder)) as test_client:
        yield test_client
