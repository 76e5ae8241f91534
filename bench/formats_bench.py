"""Extraction speed of the document readers: PDF pages per second, HTML, DOCX and Markdown documents
per second, on documents generated here (reportlab, python-docx: the dev extra) or on the files of a
folder (``--dir``). Run from the repository root, under the heavy-job lock:

    flock /tmp/heavy.lock python -m bench.formats_bench [--json out.json]
    flock /tmp/heavy.lock python -m bench.formats_bench --dir ~/papers
"""

from __future__ import annotations

import argparse
import io
import json
import random
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from indexer.config import ReadingSettings
from indexer.errors import UnreadableDocumentError
from indexer.reading.documents import discover
from indexer.reading.readers import reader_for

WORDS = [
    *("the", "crew", "module", "orbit", "moon", "lander", "rocket", "engine", "fuel", "stage", "launch"),
    *("mission", "control", "flight", "data", "pressure", "oxygen", "tank", "heat", "shield"),
    *("trajectory", "splashdown", "recovery", "telemetry", "guidance", "computer"),
]


@dataclass(frozen=True)
class Sample:
    name: str
    format: str
    data: bytes
    pages: int = 0


@dataclass(frozen=True)
class Result:
    format: str
    documents: int
    pages: int
    megabytes: float
    seconds: float
    """Best of the repeats, for all documents of the format."""
    skipped: int

    @property
    def documents_per_second(self) -> float:
        return self.documents / self.seconds if self.seconds else 0.0

    @property
    def pages_per_second(self) -> float:
        return self.pages / self.seconds if self.seconds else 0.0


def _sentence(rng: random.Random) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 14))).capitalize() + "."


def make_pdf(pages: int, rng: random.Random) -> bytes:
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4, invariant=True)
    pdf.setTitle("Generated mission report")
    for page in range(pages):
        pdf.drawString(72, 800, "Generated mission report - internal")
        y = 770
        for _ in range(44):
            pdf.drawString(72, y, _sentence(rng)[:95])
            y -= 16
        pdf.drawString(280, 40, f"Page {page + 1} of {pages}")
        pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def make_docx(paragraphs: int, rng: random.Random) -> bytes:
    import docx

    document = docx.Document()
    document.add_heading("Generated report", level=0)
    for n in range(paragraphs):
        if n % 8 == 0:
            document.add_heading(f"Section {n // 8 + 1}", level=1)
        document.add_paragraph(" ".join(_sentence(rng) for _ in range(4)))
    table = document.add_table(rows=10, cols=3)
    for row in table.rows:
        for cell in row.cells:
            cell.text = rng.choice(WORDS)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def make_html(paragraphs: int, rng: random.Random) -> bytes:
    nav = "".join(f"<li><a href='/{w}'>{w}</a></li>" for w in WORDS[:12])
    body = "".join(
        (f"<h2>Part {n // 6 + 1}</h2>" if n % 6 == 0 else "")
        + f"<p>{' '.join(_sentence(rng) for _ in range(3))}</p>"
        for n in range(paragraphs)
    )
    page = (
        "<!doctype html><html lang='en'><head><title>Generated article</title>"
        "<meta property='article:published_time' content='2025-01-02'><style>body{margin:0}</style>"
        "<script>var tracking = 1;</script></head><body>"
        "<div class='cookie-banner'><p>We use cookies.</p><button>OK</button></div>"
        f"<header><nav><ul>{nav}</ul></nav></header><main><article><h1>Generated article</h1>{body}</article>"
        f"<aside><h2>Related</h2><ul>{nav}</ul></aside></main><footer><p>Copyright</p></footer></body></html>"
    )
    return page.encode()


def make_markdown(paragraphs: int, rng: random.Random) -> bytes:
    parts = ["---\ntitle: Generated notes\ndate: 2025-01-02\ntags: [bench, notes]\n---\n# Generated notes\n"]
    for n in range(paragraphs):
        if n % 6 == 0:
            parts.append(f"\n## Part {n // 6 + 1}\n")
        parts.append("\n" + " ".join(_sentence(rng) for _ in range(3)) + "\n")
    return "".join(parts).encode()


def generated(pdf_pages: int, documents: int) -> list[Sample]:
    """One PDF of ``pdf_pages`` pages (in documents of 50 pages) and ``documents`` each of HTML, DOCX
    and Markdown (about 2,000 words each)."""
    rng = random.Random(7)
    samples = [
        Sample(
            f"report-{n}.pdf", "pdf", make_pdf(min(50, pdf_pages - n * 50), rng), min(50, pdf_pages - n * 50)
        )
        for n in range((pdf_pages + 49) // 50)
    ]
    samples += [Sample(f"article-{n}.html", "html", make_html(40, rng)) for n in range(documents)]
    samples += [Sample(f"report-{n}.docx", "docx", make_docx(40, rng)) for n in range(documents)]
    samples += [Sample(f"notes-{n}.md", "markdown", make_markdown(40, rng)) for n in range(documents)]
    return samples


def from_folder(root: Path) -> list[Sample]:
    samples = []
    for path in discover(root):
        reader = reader_for(path)
        if reader is not None:
            samples.append(Sample(path.relative_to(root).as_posix(), reader.format, path.read_bytes()))
    return samples


def measure(samples: Sequence[Sample], repeat: int) -> list[Result]:
    """Each format's documents read ``repeat`` times; the best round counts."""
    limits = ReadingSettings()
    results = []
    for kind in sorted({s.format for s in samples}):
        group = [s for s in samples if s.format == kind]
        rounds, pages, skipped = [], 0, 0
        for _ in range(repeat):
            pages = skipped = 0
            started = time.perf_counter()
            for sample in group:
                reader = reader_for(Path(sample.name))
                assert reader is not None
                try:
                    pages += len(reader.read(sample.data, Path(sample.name), limits).pages)
                except UnreadableDocumentError:
                    skipped += 1
            rounds.append(time.perf_counter() - started)
        size = sum(len(s.data) for s in group) / 2**20
        results.append(Result(kind, len(group), pages, round(size, 2), min(rounds), skipped))
    return results


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.formats_bench", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--dir", type=Path, help="measure the files of this folder instead of generated ones")
    parser.add_argument("--pdf-pages", type=int, default=500, help="generated PDF pages (default 500)")
    parser.add_argument(
        "--documents", type=int, default=100, help="generated HTML/DOCX/Markdown documents each"
    )
    parser.add_argument(
        "--repeat", type=int, default=3, help="rounds per format; the best counts (default 3)"
    )
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    samples = from_folder(args.dir) if args.dir else generated(args.pdf_pages, args.documents)
    print(f"{len(samples)} documents, {sum(len(s.data) for s in samples) / 2**20:.1f} MB", file=sys.stderr)
    results = measure(samples, args.repeat)
    header = f"{'format':<10} {'docs':>6} {'pages':>6} {'MB':>7} {'seconds':>8} {'docs/s':>8} {'pages/s':>8}"
    print(f"{header} skipped")
    for r in results:
        pages_per_second = f"{r.pages_per_second:8.0f}" if r.pages else f"{'-':>8}"
        print(
            f"{r.format:<10} {r.documents:>6} {r.pages:>6} {r.megabytes:>7.2f} {r.seconds:>8.3f} "
            f"{r.documents_per_second:>8.1f} {pages_per_second} {r.skipped}"
        )
    if args.json:
        rows = [
            asdict(r) | {"docs_per_s": r.documents_per_second, "pages_per_s": r.pages_per_second}
            for r in results
        ]
        args.json.write_text(json.dumps({"results": rows}, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
