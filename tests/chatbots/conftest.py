from __future__ import annotations

from collections.abc import Iterator

import pytest
from litestar.testing import TestClient

from indexer.config import Settings
from indexer.embedder import Embedder
from service.app import create_app


@pytest.fixture(scope="module")
def client(seeded_settings: Settings, embedder: Embedder) -> Iterator[TestClient]:  # type: ignore[type-arg]
    with TestClient(app=create_app(seeded_settings, embedder=embedder)) as test_client:
        yield test_client
