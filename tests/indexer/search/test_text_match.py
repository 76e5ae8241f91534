"""The text operators over many values at once agree with testing each value against each needle."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from indexer.search.text_match import Haystack

TEXTS = st.text(alphabet="ab\x00c", max_size=6)
TESTS = {"contains": lambda t, n: n in t, "starts_with": str.startswith, "ends_with": str.endswith}


@settings(max_examples=400)
@given(
    st.lists(TEXTS, max_size=8),
    st.lists(TEXTS, min_size=1, max_size=5),
    st.sampled_from(sorted(TESTS)),
)
def test_matches_agree_with_the_plain_definition(texts: list[str], needles: list[str], op: str) -> None:
    got = Haystack(texts).matches(op, needles).tolist()
    assert got == [any(TESTS[op](text, needle) for needle in needles) for text in texts]


def test_special_characters_in_needles_are_literal() -> None:
    texts = ["a.b", "axb", "(x)", "a|b"]
    assert Haystack(texts).matches("contains", [".", "|"]).tolist() == [True, False, False, True]
    assert Haystack(texts).matches("starts_with", ["("]).tolist() == [False, False, True, False]
