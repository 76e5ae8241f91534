"""OCR of scanned PDF pages: pages per second and the character error rate (CER) against the text the
pages were rendered from (reportlab text, rendered to images at a scan's resolution, placed in an
image-only PDF). Needs the ocr extra. Run from the repository root, under the heavy-job lock:

    flock /tmp/heavy.lock python -m bench.ocr_bench [--pages 10] [--dpi 150] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

from indexer.config import ReadingSettings
from indexer.reading.readers.pdf import PdfReader

WORDS = [
    *("the", "crew", "module", "orbit", "moon", "lander", "rocket", "engine", "fuel", "stage", "launch"),
    *("mission", "control", "flight", "data", "pressure", "oxygen", "tank", "heat", "shield", "April"),
    *("trajectory", "splashdown", "recovery", "telemetry", "guidance", "computer", "1970", "13", "Houston"),
]


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance (insertions, deletions, substitutions), in O(len(a) * len(b))."""
    previous = list(range(len(b) + 1))
    for i, char in enumerate(a, 1):
        current = [i]
        for j, other in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (char != other)))
        previous = current
    return previous[-1]


def cer(expected: str, found: str) -> float:
    """Character error rate: edits to turn ``found`` into ``expected``, per character expected
    (whitespace runs count as one space)."""
    expected, found = " ".join(expected.split()), " ".join(found.split())
    return edit_distance(expected, found) / max(len(expected), 1)


def known_pages(count: int, lines: int, seed: int = 13) -> list[list[str]]:
    rng = random.Random(seed)
    return [
        [
            " ".join(rng.choice(WORDS) for _ in range(rng.randint(6, 10))).capitalize() + "."
            for _ in range(lines)
        ]
        for _ in range(count)
    ]


def main(argv: list[str] | None = None) -> int:
    from tests.documents import make_image_pdf

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pages", type=int, default=10)
    parser.add_argument("--lines", type=int, default=40, help="lines of text on each page")
    parser.add_argument("--dpi", type=int, default=150, help="resolution of the scans")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    pages = known_pages(args.pages, args.lines)
    data = make_image_pdf(pages, dpi=args.dpi)
    PdfReader().read(make_image_pdf(pages[:1], dpi=args.dpi), Path("warm.pdf"), ReadingSettings())
    started = time.perf_counter()
    extracted = PdfReader().read(data, Path("scan.pdf"), ReadingSettings())
    seconds = time.perf_counter() - started
    expected = "\n\n".join("\n".join(lines) for lines in pages)
    result = {
        "pages": args.pages,
        "lines_per_page": args.lines,
        "dpi": args.dpi,
        "seconds": round(seconds, 2),
        "pages_per_second": round(args.pages / seconds, 3),
        "cer": round(cer(expected, extracted.text), 4),
    }
    print(
        f"OCR of {args.pages} scanned pages ({args.lines} lines each, {args.dpi} dpi): "
        f"{result['pages_per_second']} pages/s ({seconds / args.pages:.2f} s a page), CER {result['cer']:.2%}"
    )
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
