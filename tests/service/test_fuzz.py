"""Property-based fuzzing of the whole HTTP API from its own OpenAPI schema (schemathesis), over real HTTP.

Every operation gets generated valid and invalid requests; no answer may be a 5xx, and every answer
must match the schema: a documented status code, content type, headers and body.
"""

from __future__ import annotations

from collections.abc import Iterator

import msgspec
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance, status_code_conformance

from indexer.embedding import Embedder
from service.app import create_app
from service.settings import AuthSettings
from tests.service.helpers import FIRST, build, corpus_settings
from tests.service.server import serve

ADMIN_KEY = "fuzz-admin-key-0123456789abcdef"
API_KEY = "fuzz-search-key-0123456789abcdef"
MAX_EXAMPLES = 40
"""Per operation: enough to find the classic failures, bounded so CI stays fast."""
EXCLUDED_CHECKS = [positive_data_acceptance]
"""The server is stricter than JSON Schema can say: it refuses unknown fields and ``5.0`` as an integer
(both documented 422s), which schema-valid generated bodies contain."""
UNDOCUMENTED_ERRORS = {
    "POST /v1/context",
    "POST /v1/vector_stores/{vector_store_id}/search",
    "POST /retrieval",
}
"""Operations whose error statuses (404, 422, ...) are not in the schema yet: for them an undocumented
status is tolerated (everything else, 5xx above all, is still checked). Remove an entry once its
handler declares ``responses=problem_responses(...)``."""


@pytest.fixture(scope="module")
def api_schema(
    tmp_path_factory: pytest.TempPathFactory, embedder: Embedder
) -> Iterator[schemathesis.BaseSchema]:
    settings = corpus_settings(tmp_path_factory.mktemp("fuzz"), reload_poll_seconds=0)
    build(settings, embedder, FIRST)
    auth = AuthSettings(api_keys=(API_KEY,), admin_keys=(ADMIN_KEY,))
    settings = msgspec.structs.replace(settings, auth=auth)
    with serve(create_app(settings, embedder=embedder)) as base_url:
        yield schemathesis.openapi.from_url(f"{base_url}/schema/openapi.json")


def test_api_conforms_to_its_schema_and_never_fails(api_schema: schemathesis.BaseSchema) -> None:
    headers = {"Authorization": f"Bearer {ADMIN_KEY}"}
    failures: dict[str, str] = {}
    operations = [result.ok() for result in api_schema.get_all_operations()]
    labels = {operation.label for operation in operations}
    assert {"POST /v1/search", "GET /v1/documents/{doc_id}", "POST /v1/admin/reload", "GET /ready"} <= labels
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=MAX_EXAMPLES,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
            derandomize=True,  # the same examples on every CI run
        )
        def check(case: schemathesis.Case) -> None:
            excluded = EXCLUDED_CHECKS
            if case.operation.label in UNDOCUMENTED_ERRORS:
                excluded = [*excluded, status_code_conformance]
            case.call_and_validate(headers=headers, timeout=30, excluded_checks=excluded)

        try:
            check()
        except (Exception, BaseExceptionGroup) as exc:  # fuzz every operation, report all failures
            failures[operation.label] = str(exc)[:3000]
    assert not failures, "\n\n".join(f"{label}:\n{error}" for label, error in failures.items())
