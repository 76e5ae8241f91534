"""Calibrated relevance: one score in [0, 1] that means the same for every query and collection.

A passage's two raw scores do not compare across queries: a cosine does (one model, one scale), but a
BM25 score grows with the query's length and the rarity of its terms in *this* collection. So BM25 is
first divided by the query's IDF mass (:meth:`~indexer.snapshot.lexical.LexicalIndex.scores_and_mass`):
the share of the query the passage matches, 0 to 1 whatever the collection. The two then meet in one
feature, ``cosine + lexical_weight * share``, which orders hybrid results (it ranked SciFact train
better than min-max fusion under 5-fold cross-validation: docs/retrieval-quality.md), and a logistic
curve maps the feature to the probability that the passage's document is relevant, fitted on SciFact
train judgements with both classes weighted equally: the chance of relevance at even odds, since the
share of relevant passages among the candidates (1 in 65 on SciFact) belongs to a collection, not to
a passage. Dense-only and lexical-only searches have a curve of their own over their one feature.
The parameters are constants of the package, refitted by ``python -m bench.calibrate``; they hold
for the model they were fitted with (``model``), whose cosines they read.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Floats = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Logistic:
    """``1 / (1 + exp(-(intercept + slope * x)))``."""

    intercept: float
    slope: float

    def __call__(self, x: Floats) -> Floats:
        z = np.clip(self.intercept + self.slope * x, -60.0, 60.0)
        result: Floats = 1.0 / (1.0 + np.exp(-z))
        return result

    def at(self, x: float) -> float:
        """The curve at one point."""
        return float(self(np.array([x], dtype=np.float64))[0])


@dataclass(frozen=True, slots=True)
class Calibration:
    version: str
    """Named in docs/retrieval-quality.md ("Scores"); changes whenever the parameters are refitted."""
    model: str
    """The embedding model whose cosines the curves read."""
    lexical_weight: float
    """Weight of the BM25 share beside the cosine in the hybrid feature."""
    hybrid: Logistic
    dense: Logistic
    lexical: Logistic

    def feature(self, cosine: Floats | None, share: Floats | None) -> Floats:
        """The feature a mode's curve reads: the cosine, the BM25 share, or both (hybrid)."""
        if cosine is not None and share is not None:
            return cosine + self.lexical_weight * share
        if cosine is not None:
            return cosine
        if share is not None:
            return share
        raise ValueError("a score needs a cosine or a BM25 share")

    def score(self, cosine: Floats | None, share: Floats | None) -> Floats:
        """Calibrated relevance of passages from their parts (hybrid when both are given)."""
        feature = self.feature(cosine, share)
        if cosine is not None and share is not None:
            return self.hybrid(feature)
        return self.dense(feature) if cosine is not None else self.lexical(feature)


def bm25_share(bm25: npt.NDArray[np.floating], idf_mass: float) -> Floats:
    """BM25 scores as a share of the query's IDF mass (0 when the query has no indexed term)."""
    values = np.asarray(bm25, dtype=np.float64)
    return values / idf_mass if idf_mass > 0 else np.zeros_like(values)


# Fitted by `python -m bench.calibrate --dataset ../shared/bench/scifact` (SciFact train, 809 claims;
# all-MiniLM-L6-v2 onnx-int8, chunks of 200 tokens with 40 of overlap; lexical_weight chosen by
# `python -m bench.ranking_cv`, every fold chose 1.0 or 1.25).
CALIBRATION = Calibration(
    version="scifact-train-1",
    model="all-MiniLM-L6-v2",
    lexical_weight=1.0,
    hybrid=Logistic(intercept=-6.2961, slope=10.4931),
    dense=Logistic(intercept=-7.9014, slope=16.0044),
    lexical=Logistic(intercept=-3.4171, slope=18.4684),
)
