"""A tiny BEIR-format collection the benchmark scripts can run on in seconds."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

DOCUMENTS = {
    "d1": (
        "Bread baking",
        "Knead the dough for ten minutes, then let it rise for an hour in a warm place. Bake the loaf at "
        "220 degrees until the crust is golden and the bottom sounds hollow when tapped. Let it cool on a "
        "rack before slicing, or the crumb turns gummy.",
    ),
    "d2": (
        "Lunar tides",
        "The Moon orbits the Earth roughly every 27 days. Its gravity pulls on the oceans and raises two "
        "bulges of water, one facing the Moon and one on the far side, so most coasts see two high tides "
        "a day. When the Sun and the Moon line up, the tides are strongest.",
    ),
    "d3": (
        "Vaccines and immunity",
        "A vaccine trains the immune system to recognise a pathogen without causing the disease. Memory B "
        "cells and T cells persist for years after vaccination, so a later infection is cleared quickly. "
        "Booster doses raise antibody levels that wane over time.",
    ),
    "d4": (
        "Photosynthesis",
        "Plants capture light with chlorophyll and use its energy to turn carbon dioxide and water into "
        "glucose, releasing oxygen. The light reactions happen in the thylakoid membranes; the Calvin "
        "cycle fixes carbon in the stroma of the chloroplast.",
    ),
    "d5": (
        "Sleep and memory",
        "During deep sleep the brain replays the day's experiences, and memories move from the "
        "hippocampus to the cortex. People deprived of sleep after learning remember less the next day "
        "than those who slept, even after a night of recovery sleep.",
    ),
    "d6": (
        "Coffee and the heart",
        "Moderate coffee drinking, three to four cups a day, is not linked to a higher risk of heart "
        "disease in large cohort studies. Caffeine raises blood pressure briefly, but regular drinkers "
        "become tolerant to the effect within days.",
    ),
    "d7": (
        "Exercise and ageing",
        "Regular aerobic exercise slows the loss of muscle mass and bone density that comes with age. "
        "Older adults who walk briskly for thirty minutes most days keep better balance and have fewer "
        "falls than those who do not exercise.",
    ),
    "d8": (
        "Antibiotic resistance",
        "Bacteria become resistant to antibiotics through mutations and by exchanging resistance genes "
        "on plasmids. Overuse of antibiotics in medicine and farming selects for resistant strains, "
        "which then spread between patients in hospitals.",
    ),
}
QUERIES = {
    "q1": ("How long should bread dough rise?", "d1"),
    "q2": ("Why are there two high tides a day?", "d2"),
    "q3": ("Does sleep help memory after learning?", "d5"),
    "q4": ("How do bacteria resist antibiotics?", "d8"),
}


@pytest.fixture(scope="session")
def tiny_beir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Eight short documents, four judged queries (train split), in BEIR's layout."""
    root = tmp_path_factory.mktemp("tiny-beir") / "tiny"
    (root / "qrels").mkdir(parents=True)
    with (root / "corpus.jsonl").open("w", encoding="utf-8") as out:
        for doc_id, (title, text) in DOCUMENTS.items():
            out.write(json.dumps({"_id": doc_id, "title": title, "text": text}) + "\n")
    with (root / "queries.jsonl").open("w", encoding="utf-8") as out:
        for query_id, (text, _) in QUERIES.items():
            out.write(json.dumps({"_id": query_id, "text": text}) + "\n")
    lines = ["query-id\tcorpus-id\tscore"] + [f"{q}\t{d}\t1" for q, (_, d) in QUERIES.items()]
    (root / "qrels" / "train.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return root
