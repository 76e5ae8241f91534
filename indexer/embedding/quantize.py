"""int8 quantisation of an exported ONNX model: weights per output channel, activations per token.

Every MatMul by a weight (attention projections, feed-forward) becomes onnxruntime's
``MatMulIntegerToFloat`` on int8 weights and uint8 activations whose rows are each scaled by their
own largest absolute value, so a text's vector does not depend on the texts it is batched with (or
on their padding). The attention score products (activation by activation) stay float32.

onnxruntime's ``quantize_dynamic`` scales a whole batch's activations by one number (its largest
value over every row, padding included), so a query's vector moved with its batch-mates; per-token
scales do not. Each distinct MatMul input is quantised once (the query, key and value projections
share theirs). docs/retrieval-quality.md, "Model variants", has the figures.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from indexer.errors import OnnxExportError

INT8_RECIPE = 3
"""Bump when the quantisation changes: it names the int8 file, so the float32 export (and indexes
built with it) stay valid. Recipes 1 and 2 (onnxruntime's dynamic quantisation) are retired; 3 is
per-token activation scales."""


@dataclass
class _Rewrite:
    """The graph being rebuilt: its new nodes, the constants they need, and what is quantised."""

    nodes: list[Any] = field(default_factory=list)
    constants: list[Any] = field(default_factory=list)
    rows: dict[str, tuple[str, str]] = field(default_factory=dict)
    """MatMul input -> (its uint8 rows, their scales)."""
    weights: int = 0


def _shared_constants() -> list[Any]:
    import numpy as np
    from onnx import numpy_helper

    return [
        numpy_helper.from_array(np.array(128, dtype=np.uint8), "q8_zero_u8"),
        numpy_helper.from_array(np.array(0, dtype=np.int8), "q8_zero_s8"),
        numpy_helper.from_array(np.array(1e-12, dtype=np.float32), "q8_tiny"),
        numpy_helper.from_array(np.array(1 / 127, dtype=np.float32), "q8_step"),
        numpy_helper.from_array(np.array(1, dtype=np.float32), "q8_one"),
    ]


def _quantised_rows(rewrite: _Rewrite, x: str) -> tuple[str, str]:
    """Nodes that quantise activation ``x`` per row (once per distinct input): x / max|row| in
    [-1, 1], at step 1/127 around 128 (uint8), symmetric. Returns (uint8 rows, row scales)."""
    from onnx import helper

    if x not in rewrite.rows:
        p = f"q8_x{len(rewrite.rows)}_"
        rewrite.nodes += [
            helper.make_node("Abs", [x], [p + "abs"]),
            helper.make_node("ReduceMax", [p + "abs"], [p + "peak"], keepdims=1, axes=[-1]),
            helper.make_node("Max", [p + "peak", "q8_tiny"], [p + "scale"]),
            helper.make_node("Div", [x, p + "scale"], [p + "unit"]),
            helper.make_node("QuantizeLinear", [p + "unit", "q8_step", "q8_zero_u8"], [p + "int"]),
        ]
        rewrite.rows[x] = (p + "int", p + "scale")
    return rewrite.rows[x]


def _integer_matmul(rewrite: _Rewrite, node: Any, weight: Any) -> None:
    """Replace ``node`` (x @ weight) by an int8 product scaled back per row and per output column."""
    import numpy as np
    from onnx import helper, numpy_helper

    ints, scale = _quantised_rows(rewrite, node.input[0])
    w = numpy_helper.to_array(weight).astype(np.float32)
    w_scale = np.maximum(np.abs(w).max(axis=0), 1e-12) / 127  # per output column
    p = f"q8_w{rewrite.weights}_"
    rewrite.weights += 1
    rewrite.constants += [
        numpy_helper.from_array(np.clip(np.round(w / w_scale), -127, 127).astype(np.int8), p + "int"),
        numpy_helper.from_array((w_scale / 127).astype(np.float32), p + "scale"),
    ]
    rewrite.nodes += [
        helper.make_node(
            "MatMulIntegerToFloat",
            [ints, p + "int", "q8_one", p + "scale", "q8_zero_u8", "q8_zero_s8"],
            [p + "out"],
            domain="com.microsoft",
        ),
        helper.make_node("Mul", [p + "out", scale], [node.output[0]]),
    ]


def quantize_int8(source: Path, target: Path) -> None:
    """Write ``target``: the float32 model ``source`` with every MatMul by a 2-D weight in int8."""
    import onnx
    from onnx import helper

    model = onnx.load(str(source))
    graph = model.graph
    weights = {init.name: init for init in graph.initializer}
    rewrite = _Rewrite(constants=_shared_constants())
    for node in graph.node:
        weight = weights.get(node.input[1]) if node.op_type == "MatMul" else None
        if weight is None or len(weight.dims) != 2:
            rewrite.nodes.append(node)
        else:
            _integer_matmul(rewrite, node, weight)
    if not rewrite.rows:
        raise OnnxExportError(f"no MatMul by a weight to quantise in {source}")
    del graph.node[:]
    graph.node.extend(rewrite.nodes)
    used = {name for node in graph.node for name in node.input}
    kept = [init for init in graph.initializer if init.name in used]
    del graph.initializer[:]
    graph.initializer.extend(kept + rewrite.constants)
    if all(opset.domain != "com.microsoft" for opset in model.opset_import):
        model.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    onnx.save(model, str(target))
