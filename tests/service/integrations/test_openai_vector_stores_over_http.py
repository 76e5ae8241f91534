"""OpenAI's Files and Vector Stores APIs with the official ``openai`` client, unchanged, over real HTTP
against the service (granian on 127.0.0.1): create a store, upload and poll, search, delete; a file
that cannot be indexed; keys that may not see or write."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest

from indexer.build import Builder
from indexer.embedding import Embedder
from service.app import create_app
from service.settings import AppSettings, AuthSettings, KeySettings
from tests.conftest import make_settings
from tests.service.server import serve

ADMIN = "admin-key-for-openai-tests-01"
WRITER = "writer-key-for-openai-tests-1"
READER = "reader-key-for-openai-tests-1"
OTHER = "other-key-for-openai-tests-01"
LIMIT_MB = 0.1
"""``writes.max_upload_mb`` of the test service: 104,857 bytes (above ``service.max_body_bytes``, the
limit of JSON bodies, which uploads are not held to)."""
PLANETS = (
    "Saturn's rings are made mostly of water ice, with a little rock and dust.\n"
    "The rings stretch up to 282,000 kilometres from the planet but are only about ten metres thick.\n"
)


def _keys() -> AuthSettings:
    everything = {"*": ("search", "write")}
    return AuthSettings(
        admin_keys=(ADMIN,),
        keys=(
            KeySettings(name="writer", key=WRITER, collections=everything),
            KeySettings(name="reader", key=READER, collections={"*": ("search",)}),
            KeySettings(name="other", key=OTHER, collections={"default": ("search", "write")}),
        ),
    )


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("openai_stores")


@pytest.fixture(scope="module")
def base_url(root: Path, embedder: Embedder) -> Iterator[str]:
    (root / "seeds").mkdir()
    (root / "seeds" / "bread.md").write_text(
        "# Bread\n\nKnead the dough for ten minutes.\n", encoding="utf-8"
    )
    settings: AppSettings = make_settings(root, auth=_keys())
    settings = msgspec.structs.replace(
        settings,
        service=msgspec.structs.replace(settings.service, reload_poll_seconds=0.2),
        writes=msgspec.structs.replace(settings.writes, max_upload_mb=LIMIT_MB),
    )
    Builder(settings, lambda: embedder).build()
    with serve(create_app(settings, embedder=embedder)) as url:
        yield url


def _client(base_url: str, key: str) -> Any:
    from openai import OpenAI

    return OpenAI(base_url=f"{base_url}/v1", api_key=key, max_retries=0, timeout=30)


def _blank_pdf() -> bytes:
    from reportlab.pdfgen import canvas

    out = io.BytesIO()
    page = canvas.Canvas(out)
    page.rect(100, 100, 200, 200)  # a drawing, no text
    page.showPage()
    page.save()
    return out.getvalue()


def test_the_openai_client_creates_fills_searches_and_empties_a_vector_store(base_url: str) -> None:
    admin, writer = _client(base_url, ADMIN), _client(base_url, WRITER)
    store = admin.vector_stores.create(name="Planet Notes", description="notes about planets")
    assert store.id == "planet-notes" and store.object == "vector_store" and store.status == "completed"

    uploaded = writer.vector_stores.files.upload_and_poll(
        vector_store_id=store.id,
        file=("saturn.txt", PLANETS.encode()),
        attributes={"topic": "astronomy", "year": 2024},
        max_wait_seconds=60,
    )
    assert uploaded.status == "completed", uploaded.last_error
    assert uploaded.id.startswith("file-") and uploaded.attributes == {"topic": "astronomy", "year": 2024}
    assert writer.files.retrieve(uploaded.id).filename == "saturn.txt"

    page = writer.vector_stores.search(store.id, query="What are Saturn's rings made of?", max_num_results=3)
    results = list(page)
    assert results and results[0].file_id == uploaded.id and results[0].filename == "saturn.txt"
    assert "water ice" in results[0].content[0].text
    assert results[0].attributes is not None and results[0].attributes["topic"] == "astronomy"
    filtered = writer.vector_stores.search(
        store.id, query="rings", filters={"type": "eq", "key": "topic", "value": "biology"}
    )
    assert list(filtered) == []

    listed = list(writer.vector_stores.files.list(store.id))
    assert [f.id for f in listed] == [uploaded.id]
    described = admin.vector_stores.retrieve(store.id)
    assert (described.file_counts.completed, described.file_counts.total) == (1, 1)
    assert described.usage_bytes == len(PLANETS) and described.description == "notes about planets"

    deleted = writer.vector_stores.files.delete(uploaded.id, vector_store_id=store.id)
    assert deleted.deleted and deleted.id == uploaded.id
    _until(lambda: not list(writer.vector_stores.search(store.id, query="Saturn rings water ice")))
    assert writer.files.retrieve(uploaded.id).id == uploaded.id  # the upload itself stays

    assert admin.vector_stores.delete(store.id).deleted
    assert store.id not in [s.id for s in admin.vector_stores.list()]


def test_a_file_without_text_fails_with_the_reason(base_url: str) -> None:
    admin, writer = _client(base_url, ADMIN), _client(base_url, WRITER)
    store = admin.vector_stores.create(name="scans")
    failed = writer.vector_stores.files.upload_and_poll(
        vector_store_id=store.id, file=("scan.pdf", _blank_pdf()), max_wait_seconds=60
    )
    assert failed.status == "failed"
    assert failed.last_error is not None and failed.last_error.code == "invalid_file"
    assert "text" in failed.last_error.message
    assert admin.vector_stores.retrieve(store.id).file_counts.failed == 1
    assert [f.id for f in writer.vector_stores.files.list(store.id, filter="failed")] == [failed.id]
    assert list(writer.vector_stores.files.list(store.id, filter="completed")) == []


def test_other_keys_cannot_see_or_change_what_is_not_theirs(base_url: str) -> None:
    from openai import NotFoundError, PermissionDeniedError

    admin, writer = _client(base_url, ADMIN), _client(base_url, WRITER)
    reader, other = _client(base_url, READER), _client(base_url, OTHER)
    store = admin.vector_stores.create(name="private")
    mine = writer.files.create(
        file=("private.txt", b"The launch code is in the blue folder.\n"), purpose="assistants"
    )

    with pytest.raises(NotFoundError):
        other.vector_stores.retrieve(store.id)
    with pytest.raises(NotFoundError):
        other.vector_stores.search(store.id, query="launch code")
    assert store.id not in [s.id for s in other.vector_stores.list()]
    with pytest.raises(NotFoundError):
        other.files.retrieve(mine.id)  # another key's file
    assert mine.id not in [f.id for f in other.files.list()]
    with pytest.raises(PermissionDeniedError):
        reader.vector_stores.files.create(vector_store_id=store.id, file_id=mine.id)
    with pytest.raises(PermissionDeniedError):
        reader.files.create(file=("x.txt", b"x"), purpose="assistants")
    with pytest.raises(PermissionDeniedError):
        writer.vector_stores.create(name="not-allowed")  # creating a store needs an admin key
    with pytest.raises(NotFoundError):  # a writer cannot attach a file another key uploaded
        _client(base_url, OTHER).vector_stores.files.create(vector_store_id="default", file_id=mine.id)


def test_files_belong_to_their_key_are_capped_and_can_be_read_back(base_url: str) -> None:
    from openai import NotFoundError

    writer, other = _client(base_url, WRITER), _client(base_url, OTHER)
    notes = b"# Notes\n\nsome notes\n"
    kept = writer.files.create(file=("../../etc/notes.md", notes), purpose="user_data")
    assert kept.object == "file" and kept.bytes == len(notes) and kept.filename == "notes.md"
    assert kept.purpose == "user_data" and abs(kept.created_at - time.time()) < 60
    assert writer.files.content(kept.id).read() == notes
    assert kept.id in [f.id for f in writer.files.list()]
    assert kept.id not in [f.id for f in other.files.list()]
    assert kept.id in [f.id for f in _client(base_url, ADMIN).files.list()]  # admin keys see every file
    with pytest.raises(NotFoundError):
        other.files.delete(kept.id)
    assert writer.files.delete(kept.id).deleted
    with pytest.raises(NotFoundError):
        writer.files.retrieve(kept.id)
    large = bytes(range(256)) * 320  # 81,920 bytes: more than a JSON body may be, less than an upload
    big = writer.files.create(file=("large.bin", large), purpose="assistants")
    assert big.bytes == len(large) and writer.files.content(big.id).read() == large


def test_uploads_over_the_limit_or_malformed_are_refused(base_url: str) -> None:
    import httpx

    auth = {"Authorization": f"Bearer {WRITER}"}
    before = {f["id"] for f in httpx.get(f"{base_url}/v1/files", headers=auth).json()["data"]}
    big = b"x" * (int(LIMIT_MB * 2**20) + 1)
    refused = httpx.post(
        f"{base_url}/v1/files", headers=auth, files={"file": ("big.txt", big)}, data={"purpose": "assistants"}
    )
    assert refused.status_code == 413, refused.text
    assert "larger than the limit" in refused.json()["error"]["message"]

    def chunked() -> Iterator[bytes]:  # no Content-Length: refused while it streams in
        yield b"--b\r\nContent-Disposition: form-data; name=file; filename=big.txt\r\n\r\n"
        for _ in range(20):
            yield b"y" * 8192

    streamed = httpx.post(
        f"{base_url}/v1/files",
        headers={**auth, "Content-Type": "multipart/form-data; boundary=b"},
        content=chunked(),
    )
    assert streamed.status_code == 413, streamed.text
    wrong = httpx.post(f"{base_url}/v1/files", headers=auth, json={"purpose": "assistants"})
    assert wrong.status_code == 415
    no_purpose = httpx.post(f"{base_url}/v1/files", headers=auth, files={"file": ("a.txt", b"a")})
    assert no_purpose.status_code == 400 and no_purpose.json()["error"]["param"] == "purpose"
    fine_tune = httpx.post(
        f"{base_url}/v1/files", headers=auth, files={"file": ("a.txt", b"a")}, data={"purpose": "fine-tune"}
    )
    assert fine_tune.status_code == 400 and "purpose" in fine_tune.json()["error"]["message"]
    cut_short = httpx.post(
        f"{base_url}/v1/files",
        headers={**auth, "Content-Type": "multipart/form-data; boundary=b"},
        content=b'--b\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nassistants\r\n'
        b'--b\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\n\r\nhalf a fi',
    )
    assert cut_short.status_code == 400 and "multipart" in cut_short.json()["error"]["message"]
    unknown = httpx.post(
        f"{base_url}/v1/files",
        headers=auth,
        files={"file": ("a.txt", b"a")},
        data={"purpose": "assistants", "colour": "red"},
    )
    assert unknown.status_code == 400 and unknown.json()["error"]["param"] == "colour", unknown.text
    after = {f["id"] for f in httpx.get(f"{base_url}/v1/files", headers=auth).json()["data"]}
    assert after == before  # nothing refused was kept


def test_deleting_a_file_removes_it_from_its_vector_stores(base_url: str) -> None:
    from openai import BadRequestError

    admin, writer = _client(base_url, ADMIN), _client(base_url, WRITER)
    store = admin.vector_stores.create(name="moons")
    assert list(writer.vector_stores.search(store.id, query="moons")) == []  # nothing indexed yet
    with pytest.raises(BadRequestError):
        writer.vector_stores.search(store.id, query=" ")  # refused as in any store
    moon = writer.vector_stores.files.upload_and_poll(
        vector_store_id=store.id,
        file=("titan.md", b"# Titan\n\nTitan is the largest moon of Saturn, with a thick atmosphere.\n"),
        max_wait_seconds=60,
    )
    assert moon.status == "completed"
    assert [r.file_id for r in writer.vector_stores.search(store.id, query="largest moon of Saturn")] == [
        moon.id
    ]
    writer.files.delete(moon.id)
    _until(lambda: not list(writer.vector_stores.search(store.id, query="largest moon of Saturn")))
    assert list(writer.vector_stores.files.list(store.id)) == []


def test_a_batch_of_files_is_uploaded_and_polled_as_one(base_url: str) -> None:
    admin, writer = _client(base_url, ADMIN), _client(base_url, WRITER)
    store = admin.vector_stores.create(name="batch of notes")
    batch = writer.vector_stores.file_batches.upload_and_poll(
        store.id,
        files=[
            ("mars.txt", b"Mars has two small moons, Phobos and Deimos.\n"),
            ("venus.md", b"# Venus\n\nVenus spins backwards compared with most planets.\n"),
            ("scan.pdf", _blank_pdf()),
        ],
        poll_interval_ms=100,
    )
    assert batch.object == "vector_store.files_batch" and batch.status == "completed"
    counts = batch.file_counts
    assert (counts.completed, counts.failed, counts.in_progress, counts.total) == (2, 1, 0, 3)
    listed = list(writer.vector_stores.file_batches.list_files(batch.id, vector_store_id=store.id))
    assert sorted(f.status for f in listed) == ["completed", "completed", "failed"]
    ids = sorted(f.id for f in listed)
    assert [f.id for f in writer.vector_stores.files.list(store.id, limit=1)] == ids  # page by page
    assert [f.id for f in writer.vector_stores.files.list(store.id, limit=2, order="desc")] == ids[::-1]
    page = writer.vector_stores.files.list(store.id, limit=1, after=ids[0])
    assert [f.id for f in page.data] == [ids[1]] and page.has_more
    (hit,) = writer.vector_stores.search(store.id, query="Which moons does Mars have?", max_num_results=1)
    assert hit.filename == "mars.txt" and hit.file_id in {f.id for f in listed}
    mixed = writer.vector_stores.file_batches.create(
        store.id,
        files=[{"file_id": hit.file_id, "attributes": {"planet": "mars"}}],
    )
    done = writer.vector_stores.file_batches.poll(mixed.id, vector_store_id=store.id, poll_interval_ms=100)
    assert done.file_counts.completed == 1
    assert writer.vector_stores.files.retrieve(hit.file_id, vector_store_id=store.id).attributes == {
        "planet": "mars"
    }


def test_unsupported_files_and_options_are_refused_with_the_reason(base_url: str) -> None:
    from openai import BadRequestError, ConflictError

    admin, writer = _client(base_url, ADMIN), _client(base_url, WRITER)
    binary = writer.files.create(file=("tool.exe", b"MZ\x90\x00"), purpose="assistants")
    with pytest.raises(BadRequestError, match="cannot be searched"):
        writer.vector_stores.files.create(vector_store_id="default", file_id=binary.id)
    with pytest.raises(BadRequestError, match="chunking"):
        admin.vector_stores.create(
            name="chunky",
            chunking_strategy={
                "type": "static",
                "static": {"max_chunk_size_tokens": 800, "chunk_overlap_tokens": 400},
            },
        )
    with pytest.raises(BadRequestError, match="expire"):
        admin.vector_stores.create(name="fleeting", expires_after={"anchor": "last_active_at", "days": 1})
    with pytest.raises(BadRequestError, match=r"tool\.exe"):
        admin.vector_stores.create(name="tools", file_ids=[binary.id])
    assert "tools" not in [s.id for s in admin.vector_stores.list()]  # nothing made
    with pytest.raises(ConflictError):
        admin.vector_stores.create(name="default")  # a configured collection's name
    with pytest.raises(ConflictError):
        admin.vector_stores.delete("default")  # config.yaml's collections stay


def test_a_file_another_worker_wrote_shows_in_progress_until_published(base_url: str, root: Path) -> None:
    from openai import NotFoundError

    writer = _client(base_url, WRITER)
    store = _client(base_url, ADMIN).vector_stores.create(name="shared")
    sources = root / "index" / store.id / "sources"
    (sources / "other-worker.txt").write_bytes(
        b"Written by another worker process.\n"
    )  # its writer publishes it
    pending = writer.vector_stores.files.retrieve("other-worker.txt", vector_store_id=store.id)
    assert pending.status == "in_progress" and pending.last_error is None
    with pytest.raises(NotFoundError, match="No file found"):
        writer.vector_stores.files.retrieve("../../bread.md", vector_store_id=store.id)


def _until(done: Any, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)
