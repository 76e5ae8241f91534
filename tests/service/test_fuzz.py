"""Property-based fuzzing of the whole HTTP API from its own OpenAPI schema (schemathesis), over real HTTP.

Every operation gets generated valid and invalid requests, sent with no key, a search key and an admin
key; no answer may be a 5xx, and every answer must match the schema: a documented status code, content
type, headers and body.
"""

from __future__ import annotations

from collections.abc import Iterator

import msgspec
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.schemas import APIOperation
from schemathesis.specs.openapi.checks import positive_data_acceptance

from indexer.embedding import Embedder
from service.app import create_app
from service.settings import AuthSettings
from tests.service.helpers import FIRST, build, corpus_settings
from tests.service.server import serve

ADMIN_KEY = "fuzz-admin-key-0123456789abcdef"
API_KEY = "fuzz-search-key-0123456789abcdef"
MAX_EXAMPLES = 25
"""Per operation and key: enough to find the classic failures, bounded so CI stays fast."""
KEYS = {"no key": None, "search key": API_KEY, "admin key": ADMIN_KEY}
"""Every operation is fuzzed as each kind of caller: refusals must conform to the schema too."""
EXCLUDED_CHECKS = [positive_data_acceptance]
"""The server is stricter than JSON Schema can say: it refuses unknown fields and ``5.0`` as an integer
(both documented 422s), which schema-valid generated bodies contain."""
KNOWN_IDS = {
    "name": "default",
    "doc_id": "lighthouse.txt",
    "vector_store_id": "vs_citesearch",
    "knowledge_id": "citesearch",
}
"""Ids that exist: random ones are all 404s, which would never reach the handlers' real work."""


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


def _with_known_ids(case: schemathesis.Case) -> schemathesis.Case:
    for name in case.path_parameters or {}:
        if name in KNOWN_IDS:
            case.path_parameters[name] = KNOWN_IDS[name]  # type: ignore[index]
    if isinstance(case.body, dict) and "knowledge_id" in case.body:
        case.body["knowledge_id"] = KNOWN_IDS["knowledge_id"]
    return case


def _cases(operation: APIOperation) -> st.SearchStrategy[schemathesis.Case]:
    """Requests the schema allows and requests it forbids (a wrong type, a missing field, ...), most of
    them naming ids that exist."""
    cases = st.one_of(operation.as_strategy(mode) for mode in GenerationMode)
    known = st.sampled_from([True, True, True, False])
    return st.tuples(cases, known).map(lambda pair: _with_known_ids(pair[0]) if pair[1] else pair[0])


def _fuzz(operation: APIOperation, key: str | None) -> None:
    headers = {"Authorization": f"Bearer {key}"} if key else {}

    @given(case=_cases(operation))
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        database=None,
        derandomize=True,  # the same examples on every CI run
    )
    def check(case: schemathesis.Case) -> None:
        case.call_and_validate(headers=headers, timeout=30, excluded_checks=EXCLUDED_CHECKS)

    check()


def test_api_conforms_to_its_schema_and_never_fails(api_schema: schemathesis.BaseSchema) -> None:
    failures: dict[str, str] = {}
    operations = [result.ok() for result in api_schema.get_all_operations()]
    labels = {operation.label for operation in operations}
    assert {
        "POST /v1/search",
        "GET /v1/documents/{doc_id}",
        "POST /v1/admin/reload",
        "GET /ready",
        "POST /v1/context",
        "POST /v1/vector_stores/{vector_store_id}/search",
        "POST /retrieval",
    } <= labels
    for operation in operations:
        for name, key in KEYS.items():
            try:
                _fuzz(operation, key)
            except (Exception, BaseExceptionGroup) as exc:  # fuzz every operation, report all failures
                failures[f"{operation.label} ({name})"] = str(exc)[:3000]
    assert not failures, "\n\n".join(f"{label}:\n{error}" for label, error in failures.items())
