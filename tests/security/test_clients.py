"""Issue 19, items 3, 5 and 10: who the client is (X-Forwarded-For only from trusted proxies), a
limiter whose memory is bounded, rate limiting by work, and the Host allow-list."""

from __future__ import annotations

import httpx

from service.admission.rate_limit import RateLimiter
from tests.security.conftest import Serve

QUERY = {"query": "lighthouse"}
STORE = "/v1/vector_stores/vs_citesearch/search"


def test_forwarded_for_from_an_untrusted_peer_does_not_dodge_the_rate_limit(served: Serve) -> None:
    # Today: rotating X-Forwarded-For from loopback gave 30/30 passes against a 10/minute limit.
    with served(rate_limit=3) as (base_url, _, _):
        codes = [
            httpx.post(
                f"{base_url}/v1/search", json=QUERY, headers={"X-Forwarded-For": f"10.0.0.{i}"}
            ).status_code
            for i in range(6)
        ]
    assert codes == [200, 200, 200, 429, 429, 429], codes


def test_forwarded_for_from_a_trusted_proxy_names_the_client(served: Serve) -> None:
    with served(rate_limit=2, trusted_proxies=("127.0.0.1",)) as (base_url, _, app):
        for client in ("10.0.0.1", "10.0.0.2"):
            headers = {"X-Forwarded-For": f"203.0.113.9, {client}"}
            codes = [
                httpx.post(f"{base_url}/v1/search", json=QUERY, headers=headers).status_code for _ in range(3)
            ]
            assert codes == [200, 200, 429], (client, codes)
        assert len(app.state.limiter) == 2


def test_the_limiter_remembers_a_bounded_number_of_clients_and_forgets_expired_ones() -> None:
    # Today: +200 MiB after 600k client ids, expired entries never purged.
    now = [0.0]
    limiter = RateLimiter(10, 60, max_clients=1000, clock=lambda: now[0])
    for i in range(100_000):
        limiter.hit(f"client-{i}")
    assert len(limiter) == 1000
    now[0] += 61
    assert len(limiter) == 0


def test_a_request_costs_one_unit_per_query(served: Serve) -> None:
    # Today: a 10-query filtered search cost the same one request as a plain one.
    with served(rate_limit=10) as (base_url, _, _):
        ten = {
            "query": [f"question {i}" for i in range(10)],
            "filters": {"type": "eq", "key": "doc_id", "value": "x"},
        }
        assert httpx.post(f"{base_url}{STORE}", json=ten, timeout=60).status_code == 200
        refused = httpx.post(f"{base_url}{STORE}", json={"query": "one more"})
        assert refused.status_code == 429 and int(refused.headers["retry-after"]) > 0
    with served(rate_limit=5) as (base_url, _, _):
        too_dear = httpx.post(f"{base_url}{STORE}", json=ten)
        assert too_dear.status_code == 429 and "costs 10 units" in too_dear.json()["error"]["message"]
        eleven = {"query": [f"question {i}" for i in range(11)]}
        assert httpx.post(f"{base_url}{STORE}", json=eleven).status_code == 400  # OpenAI's 400 for 422


def test_an_unknown_host_header_gets_421_on_every_route(served: Serve) -> None:
    # Today: any Host was answered, so a page on another site could reach an open service by DNS rebinding.
    with served(allowed_hosts=()) as (base_url, _, _):
        port = base_url.rsplit(":", 1)[1]
        for path in ("/health", "/v1/documents/lighthouse.txt", "/schema/openapi.json"):
            evil = httpx.get(f"{base_url}{path}", headers={"Host": f"rebind.example:{port}"})
            assert evil.status_code == 421, path
            assert evil.headers["content-type"] == "application/problem+json"
        for host in (f"localhost:{port}", f"127.0.0.1:{port}", "LOCALHOST"):
            assert httpx.get(f"{base_url}/health", headers={"Host": host}).status_code == 200, host
        search = httpx.post(f"{base_url}/v1/search", json=QUERY, headers={"Host": "rebind.example"})
        assert search.status_code == 421
