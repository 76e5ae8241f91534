"""Parse ``config.yaml`` (plus environment overrides) once into frozen, typed settings."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal, Self, TypeVar, get_args, overload

import msgspec
import yaml

from indexer.errors import ConfigError

ENV_PREFIX = "CITESEARCH__"
CONFIG_ENV = "CITESEARCH_CONFIG"
DEFAULT_CONFIG = "config.yaml"

SearchMode = Literal["dense", "lexical", "hybrid"]
"""How a search ranks: by cosine over the vectors, by BM25, or both fused."""
ModelVariant = Literal["torch", "onnx-fp32", "onnx-int8"]
"""How the model runs: sentence-transformers on torch, or its ONNX export in float32 or int8."""
ApproximateIndexType = Literal["hnsw", "ivf", "ivfpq"]
IndexType = Literal["flat", ApproximateIndexType]
"""The vector indexes (``indexer.snapshot.vectors``): exact search, or one of the approximate ones."""
MODES: tuple[SearchMode, ...] = get_args(SearchMode)
VARIANTS: tuple[ModelVariant, ...] = get_args(ModelVariant)
INDEX_TYPES: tuple[IndexType, ...] = get_args(IndexType)


class _Section(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    pass


class ModelSettings(_Section, frozen=True):
    name: str = "all-MiniLM-L6-v2"
    """A packaged model name, a local model directory, or a model already in the local HF cache."""
    device: str = "cpu"
    """torch's device (variant ``torch`` only); the ONNX variants run on the CPU."""
    batch_size: Annotated[int, msgspec.Meta(ge=1, le=4096)] = 32
    variant: ModelVariant = "onnx-int8"
    """How the model runs: sentence-transformers on torch; or exported to ONNX (offline, cached) and run
    by onnxruntime, in float32 (the same vectors as torch) or int8 (weights per output channel,
    activations per token; the default: docs/retrieval-quality.md, "Model variants")."""
    threads: Annotated[int, msgspec.Meta(ge=0, le=256)] = 0
    """onnxruntime's intra-op threads for the ONNX variants; 0: one per physical core."""
    onnx_cache: str = ""
    """Folder of exported ONNX models; empty: ``$XDG_CACHE_HOME/citesearch/onnx`` (``~/.cache/...``)."""


class ReadingSettings(_Section, frozen=True):
    """Limits on what one file may cost to read: a file over any of them is skipped with the reason
    (the build goes on), never truncated."""

    max_file_mb: Annotated[float, msgspec.Meta(gt=0, le=100_000)] = 50
    """Files larger than this are not opened."""
    max_pages: Annotated[int, msgspec.Meta(ge=1, le=1_000_000)] = 2000
    """PDFs with more pages are skipped."""
    max_chars: Annotated[int, msgspec.Meta(ge=1, le=2_000_000_000)] = 5_000_000
    """Documents whose extracted text is longer are skipped."""
    max_unpacked_mb: Annotated[float, msgspec.Meta(gt=0, le=100_000)] = 200
    """DOCX (a zip): skipped when its parts would unpack to more than this (a zip bomb)."""
    max_file_seconds: Annotated[float, msgspec.Meta(gt=0, le=86_400)] = 30
    """Reading one file (in a worker process) takes at most this long; past it the worker is killed."""
    max_file_memory_mb: Annotated[float, msgspec.Meta(ge=64, le=1_000_000)] = 1024
    """Reading one file may use this much memory (address space) on top of the worker's own."""
    max_front_matter_kb: Annotated[float, msgspec.Meta(gt=0, le=100_000)] = 256
    """YAML front matter larger than this is not parsed: the file is skipped."""
    max_title_chars: Annotated[int, msgspec.Meta(ge=10, le=100_000)] = 300
    """Longer titles are cut (with an ellipsis)."""
    max_metadata_value_chars: Annotated[int, msgspec.Meta(ge=10, le=1_000_000)] = 1000
    """Longer metadata values are cut; a list keeps the items that fit in it together."""
    max_section_chars: Annotated[int, msgspec.Meta(ge=10, le=100_000)] = 300
    """Longer section (heading path) labels are cut."""
    follow_symlinks: bool = False
    """Read symbolic links to files inside the seeds folder; links out of it are never read."""
    ocr: Literal["auto", "off"] = "auto"
    """auto: PDF pages without a usable text layer (scans) are read by OCR, when the ``ocr`` extra is
    installed; off: such pages are left out (a PDF of scans only is skipped)."""
    max_ocr_pages: Annotated[int, msgspec.Meta(ge=1, le=1_000_000)] = 100
    """PDFs with more pages to OCR are skipped (OCR takes seconds a page)."""
    max_ocr_page_seconds: Annotated[float, msgspec.Meta(ge=0, le=86_400)] = 30
    """Each page read by OCR adds this much to the file's ``max_file_seconds`` (a file of scans thus
    gets at most ``max_file_seconds + max_ocr_pages * max_ocr_page_seconds``)."""

    @property
    def max_file_bytes(self) -> int:
        return int(self.max_file_mb * 2**20)

    @property
    def max_unpacked_bytes(self) -> int:
        return int(self.max_unpacked_mb * 2**20)

    @property
    def max_file_memory_bytes(self) -> int:
        return int(self.max_file_memory_mb * 2**20)

    @property
    def max_front_matter_bytes(self) -> int:
        return int(self.max_front_matter_kb * 2**10)


class ChunkingSettings(_Section, frozen=True):
    encoding: str = "cl100k_base"
    max_tokens: Annotated[int, msgspec.Meta(ge=16, le=8192)] = 200
    overlap_tokens: Annotated[int, msgspec.Meta(ge=0)] = 40

    def __post_init__(self) -> None:
        if self.overlap_tokens >= self.max_tokens:
            raise ValueError(
                f"chunking.overlap_tokens ({self.overlap_tokens}) must be smaller than "
                f"chunking.max_tokens ({self.max_tokens})"
            )


class HnswSettings(_Section, frozen=True):
    m: Annotated[int, msgspec.Meta(ge=4, le=128)] = 32
    """Graph neighbours per node: more is better recall, more memory (``2 * m * 4`` bytes a vector)."""
    ef_construction: Annotated[int, msgspec.Meta(ge=8, le=4096)] = 80
    """Candidate list depth while building: more is a better graph and a slower build."""
    ef_search: Annotated[int, msgspec.Meta(ge=1, le=4096)] = 64
    """Candidate list depth while searching (at least k is used): more is better recall, slower."""


class IvfSettings(_Section, frozen=True):
    nlist: Annotated[int, msgspec.Meta(ge=0)] = 0
    """Inverted lists (k-means centroids); 0: ``4 * sqrt(vectors)``. At most ``vectors / 39``."""
    nprobe: Annotated[int, msgspec.Meta(ge=1)] = 32
    """Lists visited per query: more is better recall, slower."""
    train_per_list: Annotated[int, msgspec.Meta(ge=39, le=10_000)] = 64
    """Training sample: this many vectors per list (at most all of them)."""
    min_vectors: Annotated[int, msgspec.Meta(ge=1)] = 20_000
    """ivf / ivfpq fall back to flat below this many vectors (too few to train on, and flat is fast)."""
    pq_m: Annotated[int, msgspec.Meta(ge=1)] = 48
    """ivfpq: sub-quantizers (must divide the dimension); a vector's code is ``pq_m * pq_nbits / 8``
    bytes."""
    pq_nbits: Annotated[int, msgspec.Meta(ge=4, le=12)] = 8
    pq_refine: Annotated[int, msgspec.Meta(ge=0, le=100)] = 4
    """ivfpq: re-rank ``k * pq_refine`` candidates by exact inner product with the full vectors kept in
    the index file (memory-mapped); 0: PQ scores only, and no full vectors in the index file."""


class IndexSettings(_Section, frozen=True):
    type: Literal["auto", IndexType] = "auto"
    """auto: flat up to ``flat_max_vectors``, above it ``large`` (ivfpq if the vectors exceed
    ``memory_budget_mb``). The type built, and its parameters, are written in the manifest."""
    keep_snapshots: Annotated[int, msgspec.Meta(ge=1, le=100)] = 3
    """How many published snapshots stay on disk (the current one included)."""
    max_shrink: Annotated[float, msgspec.Meta(ge=0, le=1)] = 0.5
    """A build that would remove more than this fraction of the served snapshot's documents is refused
    unless ``python -m indexer build --allow-shrink``; one that would remove all of them always is."""
    flat_max_vectors: Annotated[int, msgspec.Meta(ge=0)] = 100_000
    """auto: exact search up to this many vectors."""
    large: ApproximateIndexType = "hnsw"
    """auto: the approximate index above ``flat_max_vectors``."""
    memory_budget_mb: Annotated[int, msgspec.Meta(ge=0)] = 0
    """auto: above ``flat_max_vectors``, build ivfpq when the full vectors would exceed this (0: no limit)."""
    mmap_min_mb: Annotated[int, msgspec.Meta(ge=0)] = 256
    """Memory-map index files at least this large instead of reading them into memory (flat, ivf,
    ivfpq, and hnsw's vectors; 0: always)."""
    hnsw: HnswSettings = msgspec.field(default_factory=HnswSettings)
    ivf: IvfSettings = msgspec.field(default_factory=IvfSettings)


class LexicalSettings(_Section, frozen=True):
    type: Literal["bm25"] = "bm25"
    stemmer: str = "english"
    """A Snowball stemmer language (PyStemmer), or "none"."""
    stopwords: str = "en"
    """A stopword list known to bm25s ("en", ...), or "none"."""
    k1: Annotated[float, msgspec.Meta(ge=0)] = 1.5
    b: Annotated[float, msgspec.Meta(ge=0, le=1)] = 0.75


class RetrievalSettings(_Section, frozen=True):
    mode: SearchMode = "hybrid"
    fusion: Literal["calibrated", "weighted", "rrf"] = "calibrated"
    """How hybrid orders its candidates: by their calibrated score (``indexer.search.calibration``:
    cosine plus BM25 as a share of the query's IDF mass); or by min-max ``weighted`` fusion or ``rrf``
    (the score is the calibrated relevance all the same, so it may then not fall with the rank)."""
    dense_weight: Annotated[float, msgspec.Meta(ge=0, le=1)] = 0.5
    """Weighted fusion: order by w * dense + (1 - w) * lexical, each min-max normalised."""
    rrf_k: Annotated[int, msgspec.Meta(ge=1)] = 60
    candidates: Annotated[int, msgspec.Meta(ge=1, le=10_000)] = 100
    """How deep each retriever's list goes before fusion (at least top_k)."""
    max_depth: Annotated[int, msgspec.Meta(ge=1)] = 2000
    """A search with ``max_per_doc`` deepens its candidate lists until it has ``top_k`` hits, down to
    at most this many chunks: the work of one search stays bounded (passages deeper than that are not
    found). Filters need no deepening: they are applied inside retrieval, on both lists."""
    fuse_documents: bool = False
    """Weighted and rrf fusion: before fusing, keep each document's best chunk in each list and fuse
    document scores."""
    min_score: Annotated[float, msgspec.Meta(ge=0, le=1)] = 0.2
    """The chatbot endpoints (MCP, OpenAI vector store search, Dify, ``/v1/context``) leave out
    passages whose calibrated score is below this when the client sets no threshold, so a question
    the documents do not answer gets no passages rather than unrelated ones. ``/v1/search`` applies
    only the ``min_score`` a request gives. 0: keep everything."""


class RaySettings(_Section, frozen=True):
    """``python -m indexer build --ray ADDRESS``: reading, chunking and embedding run as Ray Data stages
    on a Ray cluster (``pip install -e '.[ray]'``; docs/deployment.md). The driver writes and publishes
    the snapshot as a local build does."""

    actors: Annotated[int, msgspec.Meta(ge=0, le=100_000)] = 0
    """Embedding actors, each loading the model once; 0: as many as the cluster's CPUs hold, one CPU
    left for reading and chunking (``(CPUs - 1) / cpus_per_actor``, at least one)."""
    cpus_per_actor: Annotated[float, msgspec.Meta(gt=0, le=1024)] = 1
    """CPUs each embedding actor reserves; also its onnxruntime threads when ``model.threads`` is 0."""
    batch_size: Annotated[int, msgspec.Meta(ge=1, le=1_000_000)] = 1024
    """Chunks per call of an embedding actor: sorted by length, then embedded ``model.batch_size`` at a
    time (as a local build embeds blocks of 1,024)."""
    documents_per_batch: Annotated[int, msgspec.Meta(ge=1, le=1_000_000)] = 16
    """Documents per call of the reading and chunking stages."""
    max_retries: Annotated[int, msgspec.Meta(ge=0, le=1000)] = 3
    """A task or actor whose process dies (node lost, killed, out of memory) is retried or restarted
    this many times; then the build fails and the served snapshot stays as it is."""
    stall_seconds: Annotated[float, msgspec.Meta(gt=0, le=86_400)] = 600
    """The build fails (nothing published) when no document comes back from the cluster for this long:
    Ray Data waits for ever on a pool whose actors all died more often than ``max_retries``, or when
    the cluster has fewer CPUs than the stages reserve."""
    local_cpus: Annotated[int, msgspec.Meta(ge=0, le=100_000)] = 0
    """``--ray local``: CPUs of this machine the in-process Ray may use; 0: all of them."""


class EngineOptions(_Section, frozen=True):
    """How the query engine runs searches (:class:`indexer.search.SearchEngine`). Declared once: the
    service's ``service`` section is a subclass, so these are keys of ``service`` in ``config.yaml``."""

    max_batch: Annotated[int, msgspec.Meta(ge=1, le=256)] = 32
    """Most queries embedded and vector-searched together: concurrent searches are batched (1: one
    query at a time)."""
    batch_window_ms: Annotated[float, msgspec.Meta(ge=0, le=100)] = 0.0
    """Under concurrent load, how long a batch may wait to fill up to ``max_batch``; 0: take what is
    waiting. A lone request never waits."""
    query_cache_size: Annotated[int, msgspec.Meta(ge=0)] = 1024
    """Query embeddings kept (LRU, per exact query text and vector space); 0: no cache."""
    faiss_threads: Annotated[int, msgspec.Meta(ge=0, le=256)] = 1
    """FAISS's OpenMP threads for searches; 0: FAISS's default (one per CPU)."""
    faiss_blas_threshold: Annotated[int, msgspec.Meta(ge=1)] = 20
    """Exact search of at least this many queries at once uses BLAS matrix products (FAISS's
    ``distance_compute_blas_threshold``)."""


class WatchSettings(_Section, frozen=True):
    """``python -m indexer watch`` and the service's watching: what changes in a collection's source
    folder is applied to its index within seconds."""

    service: bool = False
    """The service watches every collection's source folder (a collection's own ``watch: true``: that
    one)."""
    settle_seconds: Annotated[float, msgspec.Meta(ge=0.05, le=3600)] = 1.0
    """A changed file is read once its size and modification time have stayed the same this long (a
    file still being copied or written is not indexed half-written)."""
    retry_seconds: Annotated[float, msgspec.Meta(ge=0.05, le=3600)] = 5.0
    """An update that cannot run (a build holds the lock) or fails is tried again after this long
    (a failing one: doubled after each failure in a row, up to 16 times as long)."""


COLLECTION_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
"""A collection's name: lower-case letters, digits, ``-`` and ``_``, at most 64 characters."""


class CollectionSettings(_Section, frozen=True):
    """One knowledge base: its own seeds folder, and its own snapshots under ``<index_dir>/<name>/``."""

    seeds_dir: Path
    description: Annotated[str, msgspec.Meta(max_length=1000)] = ""
    watch: bool = False
    """The service watches this collection's source folder (``watch.service``: every one)."""


def check_collection_name(name: str) -> str:
    """``name`` if it is a valid collection name, else :class:`ConfigError`."""
    if not COLLECTION_NAME.match(name):
        raise ConfigError(
            f"collection name {name!r} is not valid: lower-case letters, digits, - and _, "
            "starting with a letter or digit, at most 64 characters"
        )
    return name


class Settings(_Section, frozen=True):
    """The sections the indexer and the query engine read. The service's own sections (``service``,
    ``auth``, ``observability``, ``integrations``) are declared by ``service.settings.AppSettings``, a
    subclass: the indexer accepts them in the file without reading them."""

    seeds_dir: Path = Path("seeds")
    index_dir: Path = Path("index")
    reading: ReadingSettings = msgspec.field(default_factory=ReadingSettings)
    model: ModelSettings = msgspec.field(default_factory=ModelSettings)
    chunking: ChunkingSettings = msgspec.field(default_factory=ChunkingSettings)
    index: IndexSettings = msgspec.field(default_factory=IndexSettings)
    lexical: LexicalSettings = msgspec.field(default_factory=LexicalSettings)
    retrieval: RetrievalSettings = msgspec.field(default_factory=RetrievalSettings)
    ray: RaySettings = msgspec.field(default_factory=RaySettings)
    watch: WatchSettings = msgspec.field(default_factory=WatchSettings)
    collections: dict[str, CollectionSettings] | None = None
    """Several knowledge bases, each ``{seeds_dir, description}``, each indexed in
    ``<index_dir>/<name>/``. None or empty: one collection, ``default_collection``, from
    ``seeds_dir``, indexed in ``index_dir`` itself (the layout of a single-collection service)."""
    default_collection: str = "default"
    """The collection a request searches when it names none."""

    def __post_init__(self) -> None:
        for name in (*(self.collections or ()), self.default_collection):
            try:
                check_collection_name(name)
            except ConfigError as exc:
                raise ValueError(str(exc)) from None
        if self.collections and self.default_collection not in self.collections:
            raise ValueError(
                f"default_collection {self.default_collection!r} is not one of collections "
                f"({', '.join(sorted(self.collections))})"
            )

    @property
    def collection_names(self) -> tuple[str, ...]:
        """Every collection, the default first, then the others by name."""
        others = sorted(name for name in self.collections or () if name != self.default_collection)
        return (self.default_collection, *others)

    def collection(self, name: str) -> Self:
        """These settings as the indexer and the query engine see one collection: ``seeds_dir`` and
        ``index_dir`` are that collection's (:class:`~indexer.errors.ConfigError` for an unknown name)."""
        if not self.collections:
            if name != self.default_collection:
                raise ConfigError(f"no collection {name!r}: the only one is {self.default_collection!r}")
            return self
        found = self.collections.get(name)
        if found is None:
            known = ", ".join(self.collection_names)
            raise ConfigError(f"no collection {name!r} (collections: {known})")
        return msgspec.structs.replace(self, seeds_dir=found.seeds_dir, index_dir=self.index_dir / name)

    def watched(self, name: str) -> bool:
        """Whether the service watches collection ``name``'s source folder."""
        found = (self.collections or {}).get(name)
        return self.watch.service or (found is not None and found.watch)

    def legacy_index(self) -> bool:
        """Whether ``index_dir`` still holds a single-collection index (``index_dir/current``) that
        ``collections`` no longer reads."""
        return bool(self.collections) and os.path.lexists(self.index_dir / "current")


S = TypeVar("S", bound=Settings)

OTHER_SECTIONS = ("service", "auth", "observability", "integrations", "writes")
"""Sections of config.yaml that belong to the service (``service.settings.AppSettings``): read by
the indexer's loader only to be set aside, so a misspelt section name is still an error."""


def _apply_env(data: dict[str, Any], environ: Mapping[str, str]) -> dict[tuple[str, ...], str]:
    """Apply ``CITESEARCH__SECTION__KEY=value`` overrides; values are parsed as YAML scalars. Returns
    the variable that set each path, to name it when its value is wrong."""
    applied: dict[tuple[str, ...], str] = {}
    for key, raw in environ.items():
        if not key.startswith(ENV_PREFIX):
            continue
        path = [part.lower() for part in key[len(ENV_PREFIX) :].split("__") if part]
        if not path:
            continue
        node = data
        for part in path[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ConfigError(f"environment override {key}: {part!r} is not a section")
            node = child
        node[path[-1]] = yaml.safe_load(raw) if raw.strip() else raw
        applied[tuple(path)] = key
    return applied


def _invalid(
    exc: Exception, config_path: Path, overrides: dict[tuple[str, ...], str], schema: type[Settings]
) -> ConfigError:
    """``exc`` as the user should read it: from the environment variable that set the value when one
    did (else the file), with the choices when the value is not one of them."""
    message = str(exc)
    match = re.search(r" - at `\$\.?([^`]*)`$", message)
    path = tuple(re.sub(r"\[\d+\]", "", match.group(1)).split(".")) if match and match.group(1) else ()
    unknown = re.match(r"Object contains unknown field `([^`]+)`", message)
    target = (*path, unknown.group(1)) if unknown else path
    variables = [key for where, key in overrides.items() if target[: len(where)] == where]
    within = [key for where, key in overrides.items() if where[: len(path)] == path and key not in variables]
    if variables:
        source = f"environment variable {variables[0]}"
    elif within and match:
        source = f"{config_path} with environment variable {', '.join(sorted(within))}"
    else:
        source = str(config_path)
    choices = _choices(schema, path) if message.startswith("Invalid enum value") else ()
    hint = f" (choose from {', '.join(map(str, choices))})" if choices else ""
    return ConfigError(f"{source}: {message}{hint}")


def _choices(schema: type[Settings], path: tuple[str, ...]) -> tuple[object, ...]:
    """The values a ``Literal`` setting at ``path`` accepts (none if it is no ``Literal``)."""
    info: msgspec.inspect.Type = msgspec.inspect.type_info(schema)
    for name in path:
        fields = info.fields if isinstance(info, msgspec.inspect.StructType) else ()
        info = next((f.type for f in fields if f.encode_name == name), msgspec.inspect.AnyType())
    return info.values if isinstance(info, msgspec.inspect.LiteralType) else ()


def _decode_path(kind: type, value: Any) -> Any:
    if kind is Path and isinstance(value, str):
        return Path(value)
    raise NotImplementedError(f"cannot read {kind}")


@overload
def load_settings(path: str | Path | None = None, environ: Mapping[str, str] | None = None) -> Settings: ...


@overload
def load_settings(path: str | Path | None, environ: Mapping[str, str] | None, schema: type[S]) -> S: ...


def load_settings(
    path: str | Path | None = None,
    environ: Mapping[str, str] | None = None,
    schema: type[Settings] = Settings,
) -> Settings:
    """Read the YAML config (default: ``$CITESEARCH_CONFIG`` or ``./config.yaml``), apply environment
    overrides, validate into ``schema`` (the indexer's :class:`Settings`, or a subclass that declares
    more sections), and resolve relative paths against the config file's folder."""
    environ = os.environ if environ is None else environ
    config_path = Path(path or environ.get(CONFIG_ENV) or DEFAULT_CONFIG)
    data: dict[str, Any] = {}
    if config_path.exists():
        try:
            loaded = yaml.safe_load(config_path.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise ConfigError(f"{config_path}: not valid YAML: {exc}") from exc
        if loaded is not None and not isinstance(loaded, dict):
            raise ConfigError(f"{config_path}: the top level must be a mapping")
        data = loaded or {}
    elif path is not None or CONFIG_ENV in environ:
        raise ConfigError(f"config file not found: {config_path}")
    overrides = _apply_env(data, environ)
    declared = {field.name for field in msgspec.structs.fields(schema)}
    data = {k: v for k, v in data.items() if k in declared or k not in OTHER_SECTIONS}
    try:
        settings = msgspec.convert(data, schema, strict=False, dec_hook=_decode_path)
    except (msgspec.ValidationError, ValueError) as exc:
        raise _invalid(exc, config_path, overrides, schema) from exc
    base = config_path.resolve().parent
    onnx_cache = settings.model.onnx_cache
    collections = {
        name: msgspec.structs.replace(found, seeds_dir=(base / found.seeds_dir).resolve())
        for name, found in (settings.collections or {}).items()
    }
    return msgspec.structs.replace(
        settings,
        collections=collections or None,
        seeds_dir=(base / settings.seeds_dir).resolve(),
        index_dir=(base / settings.index_dir).resolve(),
        model=msgspec.structs.replace(
            settings.model,
            onnx_cache=str((base / Path(onnx_cache).expanduser()).resolve()) if onnx_cache else "",
        ),
    )
