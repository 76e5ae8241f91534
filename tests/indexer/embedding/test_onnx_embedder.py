"""The ONNX variants against sentence-transformers on torch, with the real packaged model.

The export is done once per session into a temporary cache (a few seconds), so CI exercises the
exporter and the quantiser, not only a cached file."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from indexer.config import ModelSettings
from indexer.embedding import Embedder, load_embedder
from indexer.embedding.onnx_backend import OnnxEmbedder
from indexer.embedding.onnx_export import FP32_NAME, INT8_NAME, read_model_files
from indexer.errors import ModelNotFoundError
from indexer.snapshot.compatibility import compatible_variants

TEXTS = [
    "hi",
    "What causes the ocean tides?",
    "",
    "   ",
    "Vitamin D supplementation and bone mineral density in older adults: a randomised trial.",
    "é ñ ü — 漢字 and an emoji 🙂, mixed scripts",
    "A" * 3000,  # one over-long "word": a single [UNK]
    "protein folding " * 200,  # far past 256 model tokens: truncated
    "The mitochondria is the powerhouse of the cell. " * 6,
    "COVID-19 mRNA vaccines elicit neutralising antibodies (n=45, p<0.001).",
    "def f(x):\n    return x ** 2  # code, newlines and symbols",
    "SHORT",
]


@pytest.fixture(scope="module")
def onnx_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("onnx-cache")


@pytest.fixture(scope="module")
def fp32(onnx_cache: Path) -> Embedder:
    return load_embedder(ModelSettings(variant="onnx-fp32", onnx_cache=str(onnx_cache)))


@pytest.fixture(scope="module")
def int8(onnx_cache: Path, fp32: Embedder) -> Embedder:
    return load_embedder(ModelSettings(variant="onnx-int8", onnx_cache=str(onnx_cache)))


def test_fp32_gives_the_torch_vectors(fp32: Embedder, torch_embedder: Embedder) -> None:
    reference = torch_embedder.embed(TEXTS, batch_size=5)
    batched = fp32.embed(TEXTS, batch_size=5)
    one_by_one = np.vstack([fp32.embed([t]) for t in TEXTS])
    for vectors in (batched, one_by_one):
        assert vectors.shape == reference.shape and vectors.dtype == np.float32
        assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
        assert (vectors * reference).sum(axis=1).min() > 0.9999
        assert np.abs(vectors - reference).max() < 1e-6  # measured 2.3e-7 on the test texts


def test_int8_stays_close_to_torch_and_ranks_alike(int8: Embedder, torch_embedder: Embedder) -> None:
    reference = torch_embedder.embed(TEXTS)
    vectors = int8.embed(TEXTS)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert (vectors * reference).sum(axis=1).min() > 0.98
    query = "what pulls the sea twice a day"
    passages = [TEXTS[1], TEXTS[4], TEXTS[8], TEXTS[9]]
    for model in (int8, torch_embedder):
        scores = model.embed(passages) @ model.embed([query])[0]
        assert int(np.argmax(scores)) == 0


def test_token_counts_limits_and_dimension_match_torch(fp32: Embedder, torch_embedder: Embedder) -> None:
    assert fp32.max_seq_length == torch_embedder.max_seq_length == 256
    assert fp32.dimension == torch_embedder.dimension == 384
    for text in TEXTS:
        assert fp32.count_tokens(text) == torch_embedder.count_tokens(text), text
    assert fp32.count_tokens(TEXTS[7]) > 256  # counted without truncation


def test_export_is_cached_and_written_whole(onnx_cache: Path, fp32: Embedder, int8: Embedder) -> None:
    (folder,) = onnx_cache.iterdir()
    assert sorted(p.name for p in folder.iterdir()) == sorted([FP32_NAME, INT8_NAME])  # no temp files
    assert isinstance(fp32, OnnxEmbedder) and isinstance(int8, OnnxEmbedder)
    assert fp32.path == folder / FP32_NAME and int8.path == folder / INT8_NAME
    assert len(fp32.artifact_sha256) == 64 and fp32.artifact_sha256 != int8.artifact_sha256
    before = os.stat(fp32.path).st_mtime_ns
    again = load_embedder(ModelSettings(variant="onnx-fp32", onnx_cache=str(onnx_cache)))
    assert isinstance(again, OnnxEmbedder) and again.path == fp32.path
    assert os.stat(fp32.path).st_mtime_ns == before  # reused, not exported again


def test_int8_quantises_every_weight_matmul(int8: Embedder) -> None:
    import onnx

    assert isinstance(int8, OnnxEmbedder)
    graph = onnx.load(str(int8.path)).graph
    weights = {init.name for init in graph.initializer}
    ops = [n.op_type for n in graph.node]
    assert ops.count("MatMulIntegerToFloat") == 36  # 6 layers x (q, k, v, attention out, 2 feed-forward)
    assert not [n for n in graph.node if n.op_type == "MatMul" and n.input[1] in weights]
    assert ops.count("QuantizeLinear") == 24  # q, k and v share their input's quantisation


def test_int8_vectors_do_not_depend_on_the_batch(int8: Embedder) -> None:
    # Per-token scales: a short text padded beside long ones, or batched with others, gets the
    # vector it gets alone (per-batch scales moved it to cosine 0.987).
    alone = np.vstack([int8.embed([t]) for t in TEXTS])
    for batch_size in (3, len(TEXTS)):
        batched = int8.embed(TEXTS[::-1], batch_size=batch_size)[::-1]
        assert np.abs(batched - alone).max() < 1e-5


def test_variant_compatibility() -> None:
    assert compatible_variants("torch", "onnx-fp32") and compatible_variants("onnx-fp32", "torch")
    assert compatible_variants("onnx-int8", "onnx-int8")
    assert not compatible_variants("torch", "onnx-int8")
    assert not compatible_variants("onnx-int8", "onnx-fp32")


def test_unsupported_pooling_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "modules.json").write_text(
        '[{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},'
        ' {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"}]'
    )
    (tmp_path / "1_Pooling").mkdir()
    (tmp_path / "1_Pooling" / "config.json").write_text(
        '{"pooling_mode_mean_tokens": true, "pooling_mode_max_tokens": true}'
    )
    with pytest.raises(ModelNotFoundError, match="pooling"):
        read_model_files(tmp_path)


@pytest.mark.parametrize("pooling", ["cls", "max"])
def test_int8_of_another_model_matches_its_torch_vectors(tmp_path: Path, pooling: str) -> None:
    """A tiny BERT made here (2 layers, 64 wide, random weights spread wide enough that texts get
    different vectors; the packaged tokenizer), so the export and the quantiser are exercised on
    another shape and pooling than all-MiniLM-L6-v2's."""
    import shutil

    import torch
    from transformers import BertConfig, BertModel

    from indexer.embedding import locate_model

    packaged = locate_model("all-MiniLM-L6-v2").path
    root = tmp_path / "tiny"
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=30522,
        hidden_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=128,
        initializer_range=0.2,
    )
    BertModel(config).save_pretrained(root)
    for name in ("tokenizer.json", "tokenizer_config.json", "vocab.txt", "special_tokens_map.json"):
        shutil.copy(packaged / name, root / name)
    (root / "modules.json").write_text(
        '[{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},'
        ' {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},'
        ' {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"}]'
    )
    (root / "sentence_bert_config.json").write_text('{"max_seq_length": 128, "do_lower_case": false}')
    (root / "1_Pooling").mkdir()
    key = "pooling_mode_cls_token" if pooling == "cls" else "pooling_mode_max_tokens"
    (root / "1_Pooling" / "config.json").write_text(f'{{"word_embedding_dimension": 64, "{key}": true}}')
    (root / "2_Normalize").mkdir()

    reference = load_embedder(ModelSettings(name=str(root), variant="torch")).embed(TEXTS)
    int8 = load_embedder(
        ModelSettings(name=str(root), variant="onnx-int8", onnx_cache=str(tmp_path / "cache"))
    )
    vectors = int8.embed(TEXTS, batch_size=5)
    assert vectors.shape == (len(TEXTS), 64)
    assert (reference @ reference.T).min() < 0.9  # the texts get different vectors: not a vacuous test
    assert (vectors * reference).sum(axis=1).min() > 0.98  # measured 0.9991 (cls) and 0.9995 (max)
    alone = np.vstack([int8.embed([t]) for t in TEXTS])
    assert np.abs(vectors - alone).max() < 1e-5
