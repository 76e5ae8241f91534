"""Documents written over real HTTP (hash embedder): every format searchable with exact citations,
replace, delete, statuses with reasons, the limits and the write permission."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest
from litestar.testing import TestClient

from indexer.build import Builder
from indexer.snapshot.publish import build_lock
from indexer.snapshot.reader import open_current
from service.app import create_app
from service.settings import AppSettings, AuthSettings, KeySettings, WritesSettings
from tests.conftest import make_settings
from tests.documents import make_scanned_pdf, write_collection
from tests.hash_embedder import HashEmbedder
from tests.service.server import serve

WRITER = "writer-key-0000000001"
READER = "reader-key-0000000001"
OUTSIDER = "outsider-key-00000001"
ADMIN = "admin-key-000000000001"
FORMATS = ("apollo.md", "mission-report.pdf", "saturn.docx", "news.html", "notes.txt")


def writes_settings(root: Path, **writes: Any) -> AppSettings:
    (root / "seeds").mkdir(parents=True, exist_ok=True)
    auth = AuthSettings(
        admin_keys=(ADMIN,),
        keys=(
            KeySettings(name="writer", key=WRITER, collections={"default": ("search", "write")}),
            KeySettings(name="reader", key=READER, collections={"default": ("search",)}),
            KeySettings(name="outsider", key=OUTSIDER, collections={}),
        ),
    )
    settings = make_settings(root, auth=auth, writes=WritesSettings(**{"max_upload_mb": 1, **writes}))
    reading = msgspec.structs.replace(settings.reading, ocr="off")
    return msgspec.structs.replace(settings, reading=reading)


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("writes")
    with serve(create_app(writes_settings(root, max_documents=100), embedder=HashEmbedder())) as url:
        yield url


def auth(key: str = WRITER) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def put(base: str, doc_id: str, body: bytes, key: str = WRITER, **params: Any) -> httpx.Response:
    url = f"{base}/v1/collections/default/documents/{doc_id}"
    return httpx.put(url, content=body, headers=auth(key), params=params, timeout=60)


def search(base: str, query: str, key: str = WRITER) -> list[dict[str, Any]]:
    response = httpx.post(
        f"{base}/v1/search", json={"query": query, "mode": "lexical"}, headers=auth(key), timeout=30
    )
    assert response.status_code == 200, response.text
    return response.json()["results"]  # type: ignore[no-any-return]


def exact(base: str, result: dict[str, Any]) -> None:
    citation = result["citation"]
    doc = httpx.get(
        f"{base}/v1/collections/default/documents/{citation['doc_id']}", headers=auth(), timeout=30
    ).json()
    assert doc["text"][citation["char_start"] : citation["char_end"]] == result["text"]


def test_every_format_uploaded_is_searchable_with_exact_citations(base: str, tmp_path: Path) -> None:
    write_collection(tmp_path / "docs")
    for name in FORMATS:
        response = put(base, f"formats/{name}", (tmp_path / "docs" / name).read_bytes(), wait="true")
        assert response.status_code == 201, response.text
        body = response.json()
        assert body["job"]["status"] == "indexed" and body["document"]["status"] == "indexed"
        assert response.headers["location"] == f"/v1/collections/default/jobs/{body['job']['id']}"
    for query, doc_id in [
        ("Sea of Tranquility", "formats/apollo.md"),
        ("oxygen tank explosion", "formats/mission-report.pdf"),
        ("kerosene liquid hydrogen stages", "formats/saturn.docx"),
        ("lunar samples exhibition museum", "formats/news.html"),
        ("Skylab launched", "formats/notes.txt"),
    ]:
        results = search(base, query)
        assert results and results[0]["citation"]["doc_id"] == doc_id, (query, results[:1])
        exact(base, results[0])


def test_multipart_with_metadata_is_filterable_and_kept_beside_the_file(base: str) -> None:
    files = {"file": ("ignored.txt", b"Quokkas live on Rottnest Island near Perth.", "text/plain")}
    data = {"metadata": json.dumps({"team": "zoology", "year": 2021})}
    url = f"{base}/v1/collections/default/documents/animals/quokka.txt"
    response = httpx.put(url, files=files, data=data, headers=auth(), params={"wait": "true"}, timeout=60)
    assert response.status_code == 201, response.text
    assert response.json()["document"]["metadata"] == {"team": "zoology", "year": 2021}
    found = httpx.post(
        f"{base}/v1/search",
        json={"query": "Rottnest Island", "filters": {"type": "eq", "key": "team", "value": "zoology"}},
        headers=auth(),
        timeout=30,
    ).json()["results"]
    assert [r["citation"]["doc_id"] for r in found][:1] == ["animals/quokka.txt"]
    doc = httpx.get(f"{base}/v1/collections/default/documents/animals/quokka.txt", headers=auth()).json()
    assert doc["metadata"]["team"] == "zoology"
    # POST takes the id from the file name
    files = {"file": ("wombat.txt", b"Wombats produce cube-shaped droppings.", "text/plain")}
    url = f"{base}/v1/collections/default/documents"
    response = httpx.post(url, files=files, headers=auth(), params={"wait": "1"}, timeout=60)
    assert response.status_code == 201, response.text
    assert search(base, "cube-shaped droppings")[0]["citation"]["doc_id"] == "wombat.txt"


def test_replace_then_same_bytes_is_a_noop_then_delete(base: str) -> None:
    first = put(base, "replace/me.txt", b"The old text mentions pelicans.", wait="true")
    assert first.status_code == 201
    second = put(base, "replace/me.txt", b"The new text mentions flamingos.", wait="true")
    assert second.status_code == 200 and not second.json()["job"]["created"]
    assert not any(r["citation"]["doc_id"] == "replace/me.txt" for r in search(base, "pelicans"))
    assert search(base, "flamingos")[0]["citation"]["doc_id"] == "replace/me.txt"
    again = put(base, "replace/me.txt", b"The new text mentions flamingos.")
    assert again.status_code == 200 and again.json()["job"]["unchanged"]
    gone = httpx.delete(
        f"{base}/v1/collections/default/documents/replace/me.txt", headers=auth(), params={"wait": "true"}
    )
    assert gone.status_code == 200, gone.text
    assert not any(r["citation"]["doc_id"] == "replace/me.txt" for r in search(base, "flamingos"))
    document = httpx.get(f"{base}/v1/collections/default/documents/replace/me.txt", headers=auth())
    assert document.status_code == 404
    status = httpx.get(f"{base}/v1/collections/default/status/replace/me.txt", headers=auth())
    assert status.status_code == 404
    again = httpx.delete(f"{base}/v1/collections/default/documents/replace/me.txt", headers=auth())
    assert again.status_code == 404


def test_a_document_without_text_fails_with_the_reason(base: str) -> None:
    response = put(base, "scans/scan.pdf", make_scanned_pdf(), wait="true")
    assert response.status_code == 422, response.text
    assert "no text layer" in response.json()["detail"]
    status = httpx.get(f"{base}/v1/collections/default/status/scans/scan.pdf", headers=auth()).json()
    assert status["status"] == "failed" and "no text layer" in status["reason"]
    listed = httpx.get(
        f"{base}/v1/collections/default/documents", params={"status": "failed"}, headers=auth()
    ).json()
    assert [(d["doc_id"], d["status"]) for d in listed["documents"]] == [("scans/scan.pdf", "failed")]
    job = httpx.get(f"{base}/v1/collections/default/jobs/{status['job_id']}", headers=auth()).json()
    assert job["status"] == "failed" and "no text layer" in job["reason"]


def test_without_wait_the_answer_is_202_and_the_job_finishes(base: str) -> None:
    response = put(base, "later.txt", b"Axolotls regrow their limbs.")
    assert response.status_code == 202, response.text
    assert response.json()["document"]["status"] in ("queued", "indexing")
    location = response.headers["location"]
    deadline = time.monotonic() + 60
    while (job := httpx.get(f"{base}{location}", headers=auth()).json())["status"] != "indexed":
        assert time.monotonic() < deadline, job
        time.sleep(0.1)
    assert search(base, "axolotls regrow")[0]["citation"]["doc_id"] == "later.txt"
    metrics = httpx.get(f"{base}/metrics").text
    assert 'citesearch_writes_total{action="put",collection="default"}' in metrics
    assert 'citesearch_publish_seconds_count{collection="default"}' in metrics


def test_documents_are_listed_in_pages(base: str) -> None:
    for n in range(3):
        assert put(base, f"paged/{n}.txt", f"Page test number {n}.".encode(), wait="true").status_code == 201
    seen, after = [], None
    while True:
        params: dict[str, Any] = {"limit": 2, **({"after": after} if after else {})}
        page = httpx.get(f"{base}/v1/collections/default/documents", params=params, headers=auth()).json()
        seen += [d["doc_id"] for d in page["documents"]]
        after = page["next_after"]
        if after is None:
            break
    assert seen == sorted(seen) and {"paged/0.txt", "paged/1.txt", "paged/2.txt"} <= set(seen)


@pytest.mark.parametrize(
    ("doc_id", "status"),
    [
        ("%2E%2E/escape.txt", 422),
        ("a/%2E%2E/%2E%2E/escape.txt", 422),
        (".hidden.txt", 422),
        ("x.meta.json", 422),
        ("a%01b.txt", 422),
        ("x" * 1100 + ".txt", 422),
        ("image.png", 415),
        ("noextension", 415),
    ],
)
def test_bad_doc_ids_are_refused(base: str, doc_id: str, status: int) -> None:
    assert put(base, doc_id, b"some text").status_code == status


def test_limits_and_refusals(base: str) -> None:
    big = put(base, "big.txt", b"a" * (1024 * 1024 + 1))
    assert big.status_code == 413 and "writes.max_upload_mb" in big.json()["detail"]
    assert put(base, "typed.txt", b"%PDF-", wait="false").status_code in (202, 200)  # suffix decides
    wrong = httpx.put(
        f"{base}/v1/collections/default/documents/x.txt",
        content=b"text",
        headers={**auth(), "Content-Type": "application/pdf"},
    )
    assert wrong.status_code == 415
    assert put(base, "empty.txt", b"").status_code == 400
    assert put(base, "denied.txt", b"text", key=READER).status_code == 403
    assert put(base, "denied.txt", b"text", key=OUTSIDER).status_code == 404
    assert httpx.put(f"{base}/v1/collections/default/documents/anon.txt", content=b"x").status_code == 401
    unknown = httpx.put(f"{base}/v1/collections/nope/documents/a.txt", content=b"x", headers=auth(ADMIN))
    assert unknown.status_code == 404
    outsider = httpx.get(f"{base}/v1/collections/default/documents", headers=auth(OUTSIDER))
    assert outsider.status_code == 404


def test_documents_per_collection_are_limited(tmp_path: Path) -> None:
    with serve(create_app(writes_settings(tmp_path, max_documents=2), embedder=HashEmbedder())) as url:
        assert put(url, "one.txt", b"first").status_code == 202
        assert put(url, "two.txt", b"second").status_code == 202
        third = put(url, "three.txt", b"third")
        assert third.status_code == 409 and "writes.max_documents" in third.json()["detail"]
        assert put(url, "two.txt", b"second, replaced").status_code == 202  # replacing is not adding


def test_searches_keep_answering_during_writes(base: str) -> None:
    assert put(base, "steady.txt", b"Narwhals have a long spiral tusk.", wait="true").status_code == 201
    failures: list[str] = []
    stop = threading.Event()

    def searching() -> None:
        with httpx.Client(headers=auth(), timeout=30) as client:
            while not stop.is_set():
                body = {"query": "narwhal tusk", "mode": "lexical"}
                response = client.post(f"{base}/v1/search", json=body)
                if response.status_code != 200 or not response.json()["results"]:
                    failures.append(response.text)

    thread = threading.Thread(target=searching)
    thread.start()
    try:
        for n in range(5):
            assert put(base, f"busy/{n}.txt", f"Busy document {n} about herons.".encode()).status_code == 202
        last = put(base, "busy/last.txt", b"The last busy document about egrets.", wait="true")
        assert last.status_code == 201
    finally:
        stop.set()
        thread.join()
    assert not failures, failures[:3]
    assert {r["citation"]["doc_id"] for r in search(base, "busy document herons")} >= {
        "busy/0.txt",
        "busy/4.txt",
    }


def test_a_full_build_of_the_source_folder_gives_the_same_documents(tmp_path: Path) -> None:

    settings = writes_settings(tmp_path)
    with serve(create_app(settings, embedder=HashEmbedder())) as url:
        files = {"file": ("a.md", b"# Title\n\nOtters hold hands while sleeping.", "text/markdown")}
        data = {"metadata": json.dumps({"kind": "mammal"})}
        address = f"{url}/v1/collections/default/documents/a.md"
        response = httpx.put(address, files=files, data=data, headers=auth(), params={"wait": "1"})
        assert response.status_code == 201, response.text
    served = open_current(settings.index_dir)
    rebuilt = msgspec.structs.replace(settings, index_dir=tmp_path / "rebuilt")
    Builder(rebuilt, HashEmbedder).build()
    again = open_current(rebuilt.index_dir)
    assert served.manifest.documents == again.manifest.documents
    assert served.store.document("a.md").metadata == again.store.document("a.md").metadata  # type: ignore[union-attr]
    assert again.store.document("a.md").metadata["kind"] == "mammal"  # type: ignore[union-attr]


def test_collections_created_at_run_time_are_served_after_a_restart(tmp_path: Path) -> None:
    settings = writes_settings(tmp_path)
    admin = auth(ADMIN)
    with serve(create_app(settings, embedder=HashEmbedder())) as url:
        body = {"name": "lab-notes", "description": "Notes of the lab"}
        assert httpx.post(f"{url}/v1/collections", json=body, headers=auth(WRITER)).status_code == 403
        created = httpx.post(f"{url}/v1/collections", json=body, headers=admin)
        assert created.status_code == 201, created.text
        assert httpx.post(f"{url}/v1/collections", json=body, headers=admin).status_code == 409
        bad = httpx.post(f"{url}/v1/collections", json={"name": "Bad Name"}, headers=admin)
        assert bad.status_code == 422
        address = f"{url}/v1/collections/lab-notes/documents/gels.txt"
        put_one = httpx.put(
            address, content=b"Agarose gels separate DNA fragments.", headers=admin, params={"wait": 1}
        )
        assert put_one.status_code == 201, put_one.text
        # a key scoped to "default" does not see it
        assert httpx.put(address, content=b"x", headers=auth(WRITER)).status_code == 404
    assert (settings.index_dir / "lab-notes" / "sources" / "gels.txt").is_file()
    with serve(create_app(settings, embedder=HashEmbedder())) as url:
        listed = httpx.get(f"{url}/v1/collections", headers=admin).json()["collections"]
        assert {c["name"]: c["description"] for c in listed}["lab-notes"] == "Notes of the lab"
        found = httpx.post(
            f"{url}/v1/search", json={"query": "agarose gels", "collections": ["lab-notes"]}, headers=admin
        ).json()["results"]
        assert (
            found[0]["citation"]["doc_id"] == "gels.txt" and found[0]["citation"]["collection"] == "lab-notes"
        )
        assert httpx.delete(f"{url}/v1/collections/default", headers=admin).status_code == 409
        assert httpx.delete(f"{url}/v1/collections/lab-notes", headers=auth(WRITER)).status_code == 403
        assert httpx.delete(f"{url}/v1/collections/lab-notes", headers=admin).status_code == 204
        assert httpx.get(f"{url}/v1/collections/lab-notes", headers=admin).status_code == 404
        assert httpx.delete(f"{url}/v1/collections/lab-notes", headers=admin).status_code == 404
    assert not (settings.index_dir / "lab-notes").exists()
    with serve(create_app(settings, embedder=HashEmbedder())) as url:
        assert httpx.get(f"{url}/v1/collections/lab-notes", headers=admin).status_code == 404


def test_a_build_holding_the_lock_delays_a_write_and_does_not_fail_it(tmp_path: Path) -> None:
    settings = writes_settings(tmp_path)
    with serve(create_app(settings, embedder=HashEmbedder())) as url:
        with build_lock(settings.index_dir):  # as `python -m indexer build` holds it
            response = put(url, "locked.txt", b"Lemurs live on Madagascar.")
            assert response.status_code == 202
            time.sleep(1.0)
            job = httpx.get(f"{url}{response.headers['location']}", headers=auth()).json()
            assert job["status"] in ("queued", "indexing")
        deadline = time.monotonic() + 30
        while (job := httpx.get(f"{url}{response.headers['location']}", headers=auth()).json())[
            "status"
        ] != "indexed":
            assert time.monotonic() < deadline and job["status"] != "failed", job
            time.sleep(0.2)
        assert search(url, "lemurs Madagascar")[0]["citation"]["doc_id"] == "locked.txt"


def test_writes_never_leave_the_source_folder(tmp_path: Path) -> None:
    settings = writes_settings(tmp_path)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("not to be touched")
    (settings.seeds_dir / "linked").symlink_to(outside, target_is_directory=True)
    with serve(create_app(settings, embedder=HashEmbedder())) as url:
        assert put(url, "linked/new.txt", b"through a link").status_code == 422
        gone = httpx.delete(f"{url}/v1/collections/default/documents/linked/secret.txt", headers=auth())
        assert gone.status_code in (404, 422)
        assert put(url, "file.txt", b"a document").status_code == 202
        assert put(url, "file.txt/inner.txt", b"under a document").status_code == 409
        assert put(url, "folder/inner.txt", b"in a folder").status_code == 202
        assert put(url, "folder", b"where a folder is").status_code == 415  # no suffix: no reader
    assert (outside / "secret.txt").read_text() == "not to be touched"
    assert not (outside / "new.txt").exists()


def test_a_slow_upload_does_not_hold_up_another(base: str) -> None:
    release = threading.Event()
    answers: list[int] = []

    def slow_body() -> Iterator[bytes]:
        yield b"Slow upload about tortoises. "
        release.wait(timeout=30)
        yield b"The end."

    def slow() -> None:
        response = httpx.put(
            f"{base}/v1/collections/default/documents/slow.txt",
            content=slow_body(),
            headers=auth(),
            timeout=60,
        )
        answers.append(response.status_code)

    thread = threading.Thread(target=slow)
    thread.start()
    try:
        time.sleep(0.3)
        quick = put(base, "quick.txt", b"Quick upload about hares.", wait="true")
        assert quick.status_code == 201 and not answers  # published while the other is still arriving
    finally:
        release.set()
        thread.join()
    assert answers == [202]


def test_a_new_collection_answers_searches_at_once(tmp_path: Path) -> None:
    with serve(create_app(writes_settings(tmp_path), embedder=HashEmbedder())) as url:
        created = httpx.post(f"{url}/v1/collections", json={"name": "fresh"}, headers=auth(ADMIN))
        assert created.status_code == 201
        deadline = time.monotonic() + 30
        while True:
            body = {"query": "anything", "collections": ["fresh"]}
            response = httpx.post(f"{url}/v1/search", json=body, headers=auth(ADMIN))
            if response.status_code == 200:
                break
            assert response.status_code == 503 and time.monotonic() < deadline, response.text
            time.sleep(0.1)
        assert response.json()["results"] == []


def test_files_changed_in_the_folder_go_through_the_same_writer(tmp_path: Path) -> None:
    """What a folder watcher does: tell the writer which files changed; they are published with the
    HTTP writes, a missing file as a deletion."""
    settings = writes_settings(tmp_path)
    with TestClient(create_app(settings, embedder=HashEmbedder())) as client:
        writes = client.app.state.writes
        (settings.seeds_dir / "dropped.txt").write_text("Ibises probe mud for food.")
        with client.portal() as portal:
            (job,) = portal.call(writes.changed, "default", ["dropped.txt"])
            assert portal.call(writes.wait, "default", job.id, 30).status == "indexed"
            hits = client.post("/v1/search", json={"query": "ibises mud"}, headers=auth()).json()["results"]
            assert hits[0]["citation"]["doc_id"] == "dropped.txt"
            (settings.seeds_dir / "dropped.txt").unlink()
            (job,) = portal.call(writes.changed, "default", ["dropped.txt"])
            assert job.action == "delete"
            assert portal.call(writes.wait, "default", job.id, 30).status == "indexed"
            kept = tmp_path / "kept.txt"  # a file kept elsewhere (the OpenAI files API's), put as it is
            kept.write_text("Spoonbills sweep their bills through water.")
            job = portal.call(writes.put, "default", "from-file.txt", kept)
            assert portal.call(writes.wait, "default", job.id, 30).status == "indexed"
        assert client.get("/v1/collections/default/documents/dropped.txt", headers=auth()).status_code == 404


def test_collections_created_by_one_service_process_are_served_by_another(tmp_path: Path) -> None:
    """As ``--workers`` runs them: two processes on one index folder."""
    settings = writes_settings(tmp_path)
    settings = msgspec.structs.replace(
        settings, service=msgspec.structs.replace(settings.service, reload_poll_seconds=0.2)
    )
    admin = auth(ADMIN)

    def eventually(check: Callable[[], bool]) -> None:
        deadline = time.monotonic() + 30
        while not check():
            assert time.monotonic() < deadline
            time.sleep(0.1)

    with (
        serve(create_app(settings, embedder=HashEmbedder())) as one,
        serve(create_app(settings, embedder=HashEmbedder())) as two,
    ):
        assert httpx.post(f"{one}/v1/collections", json={"name": "shared"}, headers=admin).status_code == 201
        eventually(lambda: httpx.get(f"{two}/v1/collections/shared", headers=admin).status_code == 200)
        address = f"{two}/v1/collections/shared/documents/a.txt"
        assert (
            httpx.put(address, content=b"Storks fly south.", headers=admin, params={"wait": 1}).status_code
            == 201
        )
        assert httpx.delete(f"{one}/v1/collections/shared", headers=admin).status_code == 204
        eventually(lambda: httpx.get(f"{two}/v1/collections/shared", headers=admin).status_code == 404)


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b'--B\r\nContent-Disposition: form-data; name="file"; filename="cut.txt"\r\n\r\nno end', 400),
        (b'--B\r\nContent-Disposition: form-data; name="other"\r\n\r\nx\r\n--B--\r\n', 422),
        (b'--B\r\nContent-Disposition: form-data; name="metadata"\r\n\r\n{"a": 1}\r\n--B--\r\n', 400),
        (
            b'--B\r\nContent-Disposition: form-data; name="file"; filename="m.txt"\r\n\r\nWords.\r\n'
            b'--B\r\nContent-Disposition: form-data; name="metadata"\r\n\r\n[1, 2]\r\n--B--\r\n',
            422,
        ),
    ],
)
def test_bad_multipart_bodies_are_refused_and_store_nothing(base: str, body: bytes, status: int) -> None:
    headers = {**auth(), "Content-Type": "multipart/form-data; boundary=B"}
    response = httpx.post(f"{base}/v1/collections/default/documents", content=body, headers=headers)
    assert response.status_code == status, response.text
    for doc_id in ("cut.txt", "m.txt"):
        found = httpx.get(f"{base}/v1/collections/default/status/{doc_id}", headers=auth())
        assert found.status_code == 404
