"""Export a local sentence-transformers model to ONNX (float32 or int8), offline, into a cache folder.

The graph holds the transformer, the model's pooling and the L2 normalisation, so onnxruntime returns
the sentence embeddings themselves. Files are written to a temporary name and renamed into place, so a
reader never sees half a model; two processes exporting at once both end with a whole file. Nothing
is downloaded: the export reads the model folder :func:`indexer.embedding.locate_model` found.

<cache>/<model>-<key>/model-fp32.onnx       torch.onnx.export (TorchScript exporter) of the model
<cache>/<model>-<key>/model-int8-q<n>.onnx  int8 quantisation of it (weights per output channel,
                                            activations per token: :func:`quantize_int8`)

``<key>`` hashes the model's files, the export recipe and the versions of the libraries that make
the files, so a changed model or toolchain gets a new export instead of a stale one; ``<n>`` is the
quantisation recipe (:mod:`indexer.embedding.quantize`).
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import logging
import os
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from indexer.embedding.quantize import INT8_RECIPE, quantize_int8
from indexer.errors import ModelNotFoundError, OnnxExportError

log = logging.getLogger(__name__)

RECIPE = 1
"""Bump when the float32 export changes, so cached exports made the old way are not reused."""
OPSET = 17
FP32_NAME = "model-fp32.onnx"
INT8_NAME = f"model-int8-q{INT8_RECIPE}.onnx"
INPUT_NAMES = ("input_ids", "attention_mask", "token_type_ids")
OUTPUT_NAME = "sentence_embedding"
POOLING_MODES = ("mean", "cls", "max")
_TOOLCHAIN = ("torch", "transformers", "onnx", "onnxruntime")


@dataclass(frozen=True, slots=True)
class ModelFiles:
    """Where the parts of a sentence-transformers folder are, and how it pools."""

    root: Path
    transformer: Path
    """The folder of the Hugging Face transformer (config.json, weights, tokenizer.json)."""
    pooling: str
    """One of :data:`POOLING_MODES`."""
    max_seq_length: int

    @property
    def tokenizer(self) -> Path:
        return self.transformer / "tokenizer.json"


def read_model_files(root: Path) -> ModelFiles:
    """Read ``modules.json``, the pooling config and ``sentence_bert_config.json`` of a model folder
    (a plain Hugging Face folder is taken as transformer + mean pooling)."""
    transformer, pooling_dir = root, None
    modules_path = root / "modules.json"
    if modules_path.is_file():
        for module in json.loads(modules_path.read_text(encoding="utf-8")):
            kind = str(module.get("type", ""))
            if kind.endswith(".Transformer"):
                transformer = root / str(module.get("path", ""))
            elif kind.endswith(".Pooling"):
                pooling_dir = root / str(module.get("path", ""))
    pooling = "mean"
    if pooling_dir is not None and (pooling_dir / "config.json").is_file():
        config = json.loads((pooling_dir / "config.json").read_text(encoding="utf-8"))
        modes = [
            m
            for m in POOLING_MODES
            if config.get(f"pooling_mode_{m}_tokens" if m != "cls" else "pooling_mode_cls_token")
        ]
        others = [k for k, v in config.items() if k.startswith("pooling_mode_") and v]
        if len(modes) != 1 or len(others) != 1:
            raise ModelNotFoundError(
                f"{pooling_dir}: pooling {others or 'none'} is not supported by the ONNX variants "
                f"(one of {', '.join(POOLING_MODES)}); use model.variant: torch"
            )
        pooling = modes[0]
    max_seq_length = 0
    for candidate in (transformer / "sentence_bert_config.json", root / "sentence_bert_config.json"):
        if candidate.is_file():
            max_seq_length = int(json.loads(candidate.read_text(encoding="utf-8")).get("max_seq_length") or 0)
            break
    if not max_seq_length:
        config = json.loads((transformer / "config.json").read_text(encoding="utf-8"))
        max_seq_length = int(config.get("max_position_embeddings") or 512)
    files = ModelFiles(root, transformer, pooling, max_seq_length)
    if not files.tokenizer.is_file():
        raise ModelNotFoundError(
            f"{transformer} has no tokenizer.json, which the ONNX variants need; use model.variant: torch"
        )
    return files


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "citesearch" / "onnx"


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def toolchain_versions() -> dict[str, str]:
    versions = {}
    for dist in _TOOLCHAIN:
        try:
            versions[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            versions[dist] = "missing"
    return versions


def cache_key(files: ModelFiles) -> str:
    """Hash of every file of the model folder, the recipe and the toolchain's versions."""
    digest = hashlib.sha256()
    digest.update(json.dumps({"recipe": RECIPE, "opset": OPSET, **toolchain_versions()}).encode())
    for path in sorted(p for p in files.root.rglob("*") if p.is_file()):
        digest.update(path.relative_to(files.root).as_posix().encode() + b"\0")
        digest.update(sha256_file(path).encode())
    return digest.hexdigest()[:16]


def export_folder(name: str, files: ModelFiles, cache_dir: Path | None = None) -> Path:
    slug = re.sub(r"[^a-z0-9._-]+", "-", Path(name).name.lower()).strip("-.") or "model"
    return (cache_dir or default_cache_dir()) / f"{slug}-{cache_key(files)}"


def ensure_onnx(
    name: str,
    files: ModelFiles,
    variant: str,
    cache_dir: Path | None = None,
    on_export: Callable[[str], None] | None = None,
) -> Path:
    """The path of the ONNX file for ``variant`` ("onnx-fp32" or "onnx-int8"), exported now if the
    cache does not hold it yet (``on_export`` is told, in words, before each slow step)."""
    notice = on_export or (lambda message: None)
    if variant not in ("onnx-fp32", "onnx-int8"):
        raise ValueError(f"not an ONNX variant: {variant!r}")
    folder = export_folder(name, files, cache_dir)
    fp32 = folder / FP32_NAME
    try:
        folder.mkdir(parents=True, exist_ok=True)
        if not fp32.is_file():
            log.info("exporting %s to ONNX in %s (once; later runs reuse it)", name, folder)
            notice(f"exporting {name} to ONNX, once (later runs reuse it from {folder})")
            _atomic(fp32, lambda tmp: export_fp32(files, tmp))
        if variant == "onnx-fp32":
            return fp32
        int8 = folder / INT8_NAME
        if not int8.is_file():
            log.info("quantising %s to int8 in %s", name, folder)
            notice(f"quantising {name} to int8, once (kept in {folder})")
            _atomic(int8, lambda tmp: quantize_int8(fp32, tmp))
        return int8
    except OSError as exc:
        raise OnnxExportError(f"cannot write the ONNX export of {name} to {folder}: {exc}") from exc


def _atomic(target: Path, write: Any) -> None:
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        write(tmp)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def export_fp32(files: ModelFiles, target: Path) -> None:
    """``torch.onnx.export`` (TorchScript exporter: no onnxscript needed) of transformer + pooling +
    normalisation, with dynamic batch and sequence axes."""
    import torch
    from transformers import AutoModel

    # Eager attention: a plain MatMul/Softmax graph that exports the same from every transformers
    # version and that onnxruntime's graph optimiser fuses.
    model = AutoModel.from_pretrained(
        str(files.transformer), attn_implementation="eager", local_files_only=True
    )
    model.eval()
    pooling = files.pooling

    class SentenceEmbedding(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.transformer = model

        def forward(
            self, input_ids: torch.Tensor, attention_mask: torch.Tensor, token_type_ids: torch.Tensor
        ) -> torch.Tensor:
            tokens = self.transformer(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(tokens.dtype)
            if pooling == "cls":
                pooled = tokens[:, 0]
            elif pooling == "max":
                pooled = tokens.masked_fill(mask == 0, -1e9).max(dim=1).values
            else:  # mean over real tokens, as sentence-transformers' Pooling does
                pooled = (tokens * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, p=2, dim=1)

    # Two rows of different lengths, so the padding path is traced with a real mask.
    input_ids = torch.full((2, 8), 1000, dtype=torch.long)
    attention_mask = torch.ones((2, 8), dtype=torch.long)
    attention_mask[1, 5:] = 0
    token_type_ids = torch.zeros((2, 8), dtype=torch.long)
    axes = {name: {0: "batch", 1: "sequence"} for name in INPUT_NAMES}
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # tracer warnings about shape-dependent Python branches
        torch.onnx.export(
            SentenceEmbedding(),
            (input_ids, attention_mask, token_type_ids),
            str(target),
            input_names=list(INPUT_NAMES),
            output_names=[OUTPUT_NAME],
            dynamic_axes={**axes, OUTPUT_NAME: {0: "batch"}},
            opset_version=OPSET,
            do_constant_folding=True,
            dynamo=False,
        )
    if not target.is_file():
        raise OnnxExportError(f"torch.onnx.export wrote no {target}")
