"""The model exported to ONNX and run by onnxruntime, tokenised by its own ``tokenizer.json``."""

from __future__ import annotations

import importlib.metadata
import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from indexer.config import ModelVariant
from indexer.embedding.base import ModelLocation, Vectors
from indexer.embedding.onnx_export import INPUT_NAMES, ensure_onnx, read_model_files, sha256_file

log = logging.getLogger(__name__)


class OnnxEmbedder:
    """Same vectors as sentence-transformers (float32: within 1e-6; int8: docs/retrieval-quality.md), faster.

    Each batch is padded to its longest text only (the packaged ``tokenizer.json`` pads every input
    to 128 tokens, which is slower and would be wrong for short texts if the mask were not used)
    and truncated at the model's ``max_seq_length``, like sentence-transformers does."""

    def __init__(
        self,
        location: ModelLocation,
        variant: ModelVariant = "onnx-fp32",
        *,
        threads: int = 0,
        cache_dir: Path | None = None,
        on_export: Callable[[str], None] | None = None,
    ) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        files = read_model_files(location.path)
        path = ensure_onnx(location.name, files, variant, cache_dir, on_export)
        self.location = location
        self.name = location.name
        self.variant = variant
        self.source = location.source
        self.path = path
        self.artifact_sha256 = sha256_file(path)
        self.runtime = f"onnxruntime {importlib.metadata.version('onnxruntime')}"
        self.max_seq_length = files.max_seq_length

        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        # onnxruntime's pool threads spin on the CPU after each call, waiting for more work. On a
        # server they took the cores the HTTP server's threads needed: at one client in flight 5-7% of
        # requests waited ~8 ms behind them (p95 11.4 ms); without spinning p95 is 5.4 ms and at 16
        # clients 11% more requests are answered (python -m bench.load_compare, docs/performance.md).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self._session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self._inputs = [i.name for i in self._session.get_inputs() if i.name in INPUT_NAMES]

        self._tokenizer = Tokenizer.from_file(str(files.tokenizer))
        self._tokenizer.no_padding()
        self._tokenizer.enable_truncation(self.max_seq_length)
        self._counter = Tokenizer.from_file(str(files.tokenizer))
        self._counter.no_padding()
        self._counter.no_truncation()
        pad = self._tokenizer.token_to_id("[PAD]")
        self._pad_id = 0 if pad is None else int(pad)
        self.dimension = int(self._run([self._tokenizer.encode("warm up")]).shape[1])
        log.info("ONNX %s model %s (%s), %d threads", variant, path, self.runtime, threads)

    def count_tokens(self, text: str) -> int:
        return len(self._counter.encode(text).ids)

    def embed(self, texts: Sequence[str], batch_size: int = 32) -> Vectors:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        encodings = self._tokenizer.encode_batch(list(texts))
        # Longest first within the call, so each batch pads little; rows go back in input order.
        order = sorted(range(len(encodings)), key=lambda i: len(encodings[i].ids), reverse=True)
        out = np.empty((len(encodings), self.dimension), dtype=np.float32)
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            out[rows] = self._run([encodings[i] for i in rows])
        return out

    def _run(self, encodings: Sequence[Any]) -> Vectors:
        width = max(len(e.ids) for e in encodings)
        ids = np.full((len(encodings), width), self._pad_id, dtype=np.int64)
        mask = np.zeros((len(encodings), width), dtype=np.int64)
        types = np.zeros((len(encodings), width), dtype=np.int64)
        for row, encoding in enumerate(encodings):
            n = len(encoding.ids)
            ids[row, :n] = encoding.ids
            mask[row, :n] = 1
            types[row, :n] = encoding.type_ids
        feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
        (vectors,) = self._session.run(None, {name: feed[name] for name in self._inputs})
        return np.ascontiguousarray(vectors, dtype=np.float32)
