"""The HTML report on a real warehouse: every chart present, drawn, self-contained and escaped, then rendered by
headless Chromium (Debian's `chromium` package) to prove the charts lay out and paint.

The warehouse is built the way the pipeline builds it (normalise_batch + store_run) from a few fictional records
over three sources and two runs, the second with a failed source, so every figure has something to draw.
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path

import duckdb
import numpy as np
import pytest

from pipeline.ingest import UnreadableLine, normalise_batch, store_run
from pipeline.report import CHARTS, CONTENT_SECURITY_POLICY, NO_DATA, PALETTE, write_report
from pipeline.warehouse import connect

CHROMIUM = Path("/usr/bin/chromium")
SCRIPT = "<script>alert(1)</script>"
# Listing names are stripped of markup at normalisation and source names are plain identifiers, but a crawl's error
# quotes what a directory sent, so it carries hostile text into the last run's chart.
HOSTILE_SOURCE = "harbor_helpline"
HOSTILE_ERROR = f"HTTP 503 from https://lakeshore.example.org/feed <img src=x onerror=alert(2)> {SCRIPT}"

ALDER = {"street": "415 Alder Street", "city": "Riverton", "region": "OR", "postal_code": "97301", "country": "US"}
BAY = {"address": "12 Bay Road, Lakeport, OR 97367"}

RIVERSIDE = [
    {"source_id": "r1", "name": "Depression and Bipolar Support Group", "phone": "(503) 555-0101",
     "schedules": [{"day": 2, "time": "19:00", "end_time": "20:30"}], "topics": ["depression", "bipolar"], **ALDER},
    {"source_id": "r2", "name": "Family Support Circle", "phone": "541-555-0102", "topics": ["family"],
     "schedules": [{"day": 4, "time": "18:00", "end_time": "19:30"}], **BAY},
    {"source_id": "r3", "name": "Online Anxiety Peer Group", "conference_url": "https://zoom.example.org/j/555",
     "schedule_text": "Wednesdays 12-1pm", "topics": ["anxiety"], "region": "OR"},
    {"source_id": "r4", "phone": "503-555-0104"},  # no name: rejected
    {"source_id": "r5", "name": "Nowhere Group"},  # no way to reach it: rejected
]  # fmt: skip
LAKESHORE = [
    {"source_id": "l1", "name": "Depression & Bipolar Support Group", "address": "415 Alder St, Riverton, OR 97301",
     "phone": "503.555.0101", "schedule_text": "Tuesdays 7-8:30pm"},
    {"source_id": "l2", "name": f"{SCRIPT} Evening Circle", "address": "200 Commercial St NE, Riverton, OR 97301",
     "phone": "503-555-0111", "schedule_text": "Mondays 6-7pm", "organization": f"Riverton Peers {SCRIPT}"},
    {"source_id": "l3", "name": "Grief Support Group", "address": "88 Harbor Ave, Seaview, WA 98644",
     "phone": "360-555-0120", "schedule_text": "Thursdays 1-2:30pm", "topics": ["grief"]},
]  # fmt: skip
HARBOR = [
    {"source_id": "h1", "name": "Family Support Circle", "phone": "541.555.0102", "website": "https://example.org/fsc",
     "schedule_text": "Thursdays 6-7:30pm", **BAY},
    {"source_id": "h2", "name": "Hearing Voices Group", "phone": "503-555-0115",
     "address": "200 Commercial Street Northeast, Riverton, OR 97301", "schedule_text": "Fridays 3-4:30pm",
     "topics": ["psychosis"]},
    {"source_id": "h3", "name": SCRIPT, "phone": "503-555-0116"},  # nothing left of the name: rejected
]  # fmt: skip
NEW_AT_RIVERSIDE = {"source_id": "r6", "name": "Postpartum Peer Support", "phone": "503-555-0106",
                    "schedule_text": "1st and 3rd Saturdays 10-11am", "topics": ["postpartum"], **ALDER}  # fmt: skip


def build_warehouse(path: Path) -> None:
    """Two runs: riverside and lakeshore; then riverside again (one new group), lakeshore failing, harbor new
    (with a line of its file that is not JSON)."""
    store_run(
        path, "run", [normalise_batch("riverside_circle", RIVERSIDE), normalise_batch("lakeshore_line", LAKESHORE)]
    )
    failed = normalise_batch("lakeshore_line", [])
    failed.status, failed.error = "failed", HOSTILE_ERROR
    store_run(
        path,
        "run",
        [
            normalise_batch("riverside_circle", [*RIVERSIDE, NEW_AT_RIVERSIDE]),
            failed,
            normalise_batch(HOSTILE_SOURCE, [*HARBOR, UnreadableLine(4, "{not json")]),
        ],
    )


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("report") / "warehouse.duckdb"
    build_warehouse(path)
    return path


@pytest.fixture(scope="module")
def report(warehouse: Path) -> Path:
    """The report, written from a read-only connection as the CLI will."""
    con = connect(warehouse, read_only=True)
    try:
        return write_report(con, warehouse.parent / "out" / "report.html")
    finally:
        con.close()


# --- a small DOM from html.parser -------------------------------------------------------------------------------


VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


@dataclass
class Node:
    tag: str
    attrs: dict[str, str]
    children: list[Node] = field(default_factory=list)
    text: list[str] = field(default_factory=list)

    def iter(self, tag: str | None = None) -> Iterator[Node]:
        if tag is None or self.tag == tag:
            yield self
        for child in self.children:
            yield from child.iter(tag)

    def find(self, tag: str) -> Node | None:
        return next(self.iter(tag), None)

    def all_text(self) -> str:
        return "".join(self.text) + "".join(child.all_text() for child in self.children)


class TreeBuilder(HTMLParser):
    """Enough of a DOM to check structure: elements, attributes and text (entities decoded, as a browser shows)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, {key: value or "" for key, value in attrs})
        self.stack[-1].children.append(node)
        if tag not in VOID:
            self.stack.append(node)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.stack[-1].children.append(Node(tag, {key: value or "" for key, value in attrs}))

    def handle_endtag(self, tag: str) -> None:
        for depth in range(len(self.stack) - 1, 0, -1):
            if self.stack[depth].tag == tag:
                del self.stack[depth:]
                return

    def handle_data(self, data: str) -> None:
        self.stack[-1].text.append(data)


def parse(page: str) -> Node:
    builder = TreeBuilder()
    builder.feed(page)
    builder.close()
    return builder.root


def figures(document: Node) -> dict[str, Node]:
    return {node.attrs["data-chart"]: node for node in document.iter("figure") if "data-chart" in node.attrs}


def drawn_marks(svg: Node) -> list[Node]:
    """Data marks with a value above zero and a visible size."""
    return [
        node
        for node in svg.iter("rect")
        if "data-value" in node.attrs and float(node.attrs["data-value"]) > 0 and float(node.attrs["width"]) > 0
    ]


def column_headers(figure: Node) -> list[str]:
    return [header.all_text() for header in figure.iter("th") if header.attrs.get("scope") == "col"]


def table_rows(figure: Node) -> list[list[str]]:
    table = figure.find("table")
    assert table is not None, "no data table"
    body = table.find("tbody")
    assert body is not None
    return [[cell.all_text() for cell in row.children] for row in body.iter("tr")]


# --- the page ---------------------------------------------------------------------------------------------------


def test_every_chart_is_a_figure_with_an_accessible_svg_marks_and_a_data_table(report: Path) -> None:
    """Screen readers get the SVG's title and description, and everyone gets the numbers as a table."""
    charts = figures(parse(report.read_text(encoding="utf-8")))
    assert list(charts) == list(CHARTS)
    for name, figure in charts.items():
        caption = figure.find("figcaption")
        assert caption is not None and caption.all_text().strip(), name
        svgs = list(figure.iter("svg"))
        assert len(svgs) == 1, name
        svg = svgs[0]
        assert svg.attrs["role"] == "img"
        assert float(svg.attrs["width"]) > 0 and float(svg.attrs["height"]) > 0, name
        title, desc = svg.children[0], svg.children[1]
        assert (title.tag, desc.tag) == ("title", "desc"), name
        assert title.all_text().strip() and desc.all_text().strip(), name
        assert svg.attrs["aria-labelledby"] == f"{title.attrs['id']} {desc.attrs['id']}"
        assert drawn_marks(svg), f"{name} draws nothing"
        details = figure.find("details")
        assert details is not None and details.find("table") is not None, name
        assert table_rows(figure), name


def test_report_is_self_contained(report: Path) -> None:
    """The page is mailed and opened offline: nothing may be fetched, and the CSP forbids scripts and loads."""
    page = report.read_text(encoding="utf-8")
    document = parse(page)
    assert not list(document.iter("script")), "the report needs no script"
    assert not list(document.iter("img")) and not list(document.iter("iframe")) and not list(document.iter("link"))
    for node in document.iter():
        for attribute in ("src", "href", "xlink:href", "action", "srcset", "poster", "data"):
            value = node.attrs.get(attribute)
            assert value is None or value.startswith("#"), f"<{node.tag} {attribute}={value!r}> is not in-page"
    styles = "".join(style.all_text() for style in document.iter("style")).casefold()
    assert styles and "url(" not in styles and "@import" not in styles and "@font-face" not in styles
    csp = [meta.attrs["content"] for meta in document.iter("meta") if meta.attrs.get("http-equiv")]
    assert csp == [CONTENT_SECURITY_POLICY]


def test_source_text_is_escaped(report: Path) -> None:
    """Crawl errors (and names) come from directories we do not control: they must stay text."""
    page = report.read_text(encoding="utf-8")
    assert "<script" not in page.casefold() and "<img" not in page.casefold()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    document = parse(page)
    # Shown as the text it is: in the per-source charts, their tables and the last run's problems.
    for name in ("source-coverage", "source-overlap", "listing-status", "field-completeness", "last-run"):
        figure = figures(document)[name]
        assert HOSTILE_SOURCE in figure.all_text(), name
    assert HOSTILE_ERROR in figures(document)["last-run"].all_text()


def test_figures_agree_with_the_warehouse(warehouse: Path, report: Path) -> None:
    """The numbers behind the charts are the warehouse's, counted another way."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        group_count = con.execute("SELECT count(*) FROM groups").fetchone()[0]  # type: ignore[index]
        shared = con.execute("SELECT count(*) FROM groups WHERE len(sources) > 1").fetchone()[0]  # type: ignore[index]
        listed = dict(con.execute("SELECT unnest(sources) AS s, count(*) FROM groups GROUP BY s").fetchall())
    finally:
        con.close()
    charts = figures(parse(report.read_text(encoding="utf-8")))
    assert sum(int(n) for _, n in table_rows(charts["groups-by-region"])) == group_count
    assert {region for region, _ in table_rows(charts["groups-by-region"])} >= {"OR", "WA"}
    assert sum(int(n) for _, n in table_rows(charts["group-freshness"])) == group_count
    coverage = {row[0]: int(row[1]) for row in table_rows(charts["source-coverage"])}
    assert coverage == listed
    assert shared, "the fixture lists a group in two places"
    overlap = table_rows(charts["source-overlap"])
    sources = [row[0] for row in overlap]
    for index, row in enumerate(overlap):
        assert int(row[1 + index]) == listed[row[0]]  # the diagonal: groups the source lists
        assert [int(n) for n in row[1:]] == [int(other[1 + index]) for other in overlap]  # symmetric
    assert sum(int(n) for index, row in enumerate(overlap) for column, n in enumerate(row[1:]) if column > index)
    assert set(sources) == set(listed)


def test_rejects_and_last_run_report_each_source(report: Path) -> None:
    """An operator reads the last run per source: what came in, what was rejected and why, what failed."""
    charts = figures(parse(report.read_text(encoding="utf-8")))
    rejects = {row[0]: row for row in table_rows(charts["rejects-by-source"])}
    assert rejects["riverside_circle"][3] == "2"
    assert "name/missing 1" in rejects["riverside_circle"][5] and "reach/missing 1" in rejects["riverside_circle"][5]
    assert rejects[HOSTILE_SOURCE][3] == "2"
    assert rejects[HOSTILE_SOURCE][5] == "line N/invalid 1, name/missing 1"  # codes, line numbers folded
    # lakeshore's latest run failed: its rejects are those of the run that loaded it (none)
    assert rejects["lakeshore_line"][3] == "0"

    last = {row[0]: row for row in table_rows(charts["last-run"])}
    assert set(last) == {"riverside_circle", "lakeshore_line", HOSTILE_SOURCE}
    assert last["lakeshore_line"][1] == "failed" and HOSTILE_ERROR in last["lakeshore_line"][8]
    assert last["riverside_circle"][2:7] == ["6", "+1", "4", "2", "1"]  # items, change, listings, rejects, new
    assert last[HOSTILE_SOURCE][3] == "first run"
    status = {row[0]: row for row in table_rows(charts["listing-status"])}
    assert status["riverside_circle"][-1] == "4"


def test_empty_warehouse_says_no_data_yet(tmp_path: Path) -> None:
    """A new install writes a report before its first run: every figure is there, saying so, none fails."""
    con = connect(tmp_path / "empty.duckdb")
    try:
        out = write_report(con, tmp_path / "report.html")
    finally:
        con.close()
    document = parse(out.read_text(encoding="utf-8"))
    charts = figures(document)
    assert list(charts) == list(CHARTS)
    assert NO_DATA in document.all_text()
    for name, figure in charts.items():
        assert figure.find("svg") is None, name
        assert NO_DATA in figure.all_text(), name


def test_report_tolerates_columns_and_statuses_it_does_not_know(warehouse: Path, tmp_path: Path) -> None:
    """A newer schema (a withdrawn status, a new column) or an older one (a column gone) still gets a report."""
    copy = tmp_path / "changed.duckdb"
    shutil.copy(warehouse, copy)
    con = duckdb.connect(str(copy))
    try:
        con.execute("UPDATE listings SET status = 'withdrawn', withdrawn_at = now() WHERE source = 'lakeshore_line'")
        con.execute("ALTER TABLE listings DROP COLUMN website")
        con.execute("ALTER TABLE groups DROP COLUMN format")
        out = write_report(con, tmp_path / "report.html")
    finally:
        con.close()
    charts = figures(parse(out.read_text(encoding="utf-8")))
    assert "withdrawn" in column_headers(charts["listing-status"])
    fields = column_headers(charts["field-completeness"])
    assert "phone" in fields and "website" not in fields
    assert charts["groups-by-format"].find("svg") is None
    assert "no format column" in charts["groups-by-format"].all_text()


# --- in a browser -----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def chromium() -> Path:
    """Debian's chromium. CI installs it (.ci/run); elsewhere the browser tests are skipped when it is absent."""
    if CHROMIUM.exists():
        return CHROMIUM
    if os.environ.get("CI"):
        pytest.fail(
            f"CI is set but {CHROMIUM} is missing: install Debian's chromium package (apt-get install chromium)"
        )
    pytest.skip(f"{CHROMIUM} not installed (apt-get install -y chromium); CI runs these browser tests")


@dataclass
class Browser:
    """Headless Chromium on local files only: no network, no profile, no first-run or background traffic."""

    binary: Path
    home: Path

    def run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[bytes]:
        profile = self.home / f"profile-{time.monotonic_ns()}"
        command = [
            str(self.binary),
            "--headless",
            "--no-sandbox",  # root in a container has no user namespace for the sandbox
            "--disable-gpu",
            "--disable-dev-shm-usage",  # CI containers have a small /dev/shm
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--host-resolver-rules=MAP * ~NOTFOUND",  # a page that tried to fetch anything would get nothing
            "--hide-scrollbars",
            f"--user-data-dir={profile}",
            *args,
        ]
        env = {
            **os.environ,
            "HOME": str(self.home),
            "XDG_CONFIG_HOME": str(self.home),
            "XDG_CACHE_HOME": str(self.home),
        }
        result = subprocess.run(command, capture_output=True, timeout=timeout, env=env, check=False)
        assert result.returncode == 0, f"{' '.join(command)} failed: {result.stderr.decode(errors='replace')[-2000:]}"
        return result


@pytest.fixture(scope="module")
def browser(chromium: Path, tmp_path_factory: pytest.TempPathFactory) -> Browser:
    return Browser(chromium, tmp_path_factory.mktemp("chromium-home"))


# Runs first in <head>: an escaped-wrong `<script>alert(...)` in the body would call this and leave its mark.
TRAP = "<script>window.alert = () => { document.documentElement.dataset.alerted = 'yes'; };</script>"
# Runs last in <body>: measures what layout made of each chart and writes it into the DOM Chromium dumps.
PROBE = """<script>
for (const figure of document.querySelectorAll("figure[data-chart]")) {
  const svg = figure.querySelector("svg");
  if (!svg) continue;
  const box = svg.getBoundingClientRect();
  const marks = [...svg.querySelectorAll("[data-value]")].filter((mark) => {
    const size = mark.getBoundingClientRect();
    return Number(mark.dataset.value) > 0 && size.width > 0 && size.height > 0;
  });
  const texts = [...svg.querySelectorAll("text")].filter((text) => text.getComputedTextLength() > 0);
  figure.dataset.renderedWidth = Math.round(box.width);
  figure.dataset.renderedHeight = Math.round(box.height);
  figure.dataset.renderedMarks = marks.length;
  figure.dataset.renderedTexts = texts.length;
}
document.documentElement.dataset.probed = "yes";
</script>"""


@pytest.fixture(scope="module")
def rendered(browser: Browser, report: Path) -> Node:
    """The DOM after Chromium laid the report out, with each chart's rendered size written into its figure.

    The probe is a copy of the report with two scripts added; its CSP is the report's own plus inline scripts, so
    the no-remote-loads policy still holds and a script smuggled in through source text would run and be caught.
    """
    page = report.read_text(encoding="utf-8")
    meta = f'content="{CONTENT_SECURITY_POLICY}"'
    assert meta in page
    probe = (
        page.replace(meta, f"content=\"{CONTENT_SECURITY_POLICY}; script-src 'unsafe-inline'\"")
        .replace("<head>", "<head>" + TRAP, 1)
        .replace("</body>", PROBE + "</body>", 1)
    )
    path = report.parent / "probe.html"
    path.write_text(probe, encoding="utf-8")
    result = browser.run("--dump-dom", path.as_uri())
    return parse(result.stdout.decode("utf-8"))


def test_chromium_lays_out_every_chart(rendered: Node) -> None:
    """Layout happened: every chart has a rendered size and a box for every mark, and no injected script ran."""
    html_element = rendered.find("html")
    assert html_element is not None and html_element.attrs.get("data-probed") == "yes", "the probe did not run"
    assert "data-alerted" not in html_element.attrs, "source text ran as a script"
    charts = figures(rendered)
    assert list(charts) == list(CHARTS)
    for name, figure in charts.items():
        svg = figure.find("svg")
        assert svg is not None, name
        assert int(figure.attrs["data-rendered-width"]) >= 300, f"{name}: {figure.attrs}"
        assert int(figure.attrs["data-rendered-height"]) >= 40, f"{name}: {figure.attrs}"
        # every mark with a value above zero got a box of its own; labels have a measurable length
        assert int(figure.attrs["data-rendered-marks"]) == len(drawn_marks(svg)) > 0, name
        assert int(figure.attrs["data-rendered-texts"]) > 0, name


def test_chromium_paints_the_charts(browser: Browser, report: Path) -> None:
    """A screenshot of the report as shipped (its own CSP) is not blank and shows the charts' colours."""
    shot = report.parent / "report.png"
    browser.run("--window-size=1200,2400", f"--screenshot={shot}", report.as_uri())
    pixels = png_rgb(shot.read_bytes())
    assert pixels.shape == (2400, 1200, 3)
    packed = (pixels[..., 0].astype(np.uint32) << 16) | (pixels[..., 1].astype(np.uint32) << 8) | pixels[..., 2]
    colours = np.unique(packed)
    assert len(colours) > 50, f"only {len(colours)} colours: a blank or unstyled page"
    assert packed[0, 0] == 0xFFFFFF  # the page's white background
    for colour in (PALETTE[0], PALETTE[2], PALETTE[4]):  # the region, topic and format bars
        value = int(colour[1:], 16)
        assert np.count_nonzero(packed == value) > 500, f"{colour} is not painted"


def png_rgb(data: bytes) -> np.ndarray:
    """Decode an 8-bit RGB(A), non-interlaced PNG (what Chromium writes) into a height × width × 3 array.

    Pillow is not a dependency of the project; the five PNG filters are short enough to undo here.
    """
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    position, compressed, header = 8, bytearray(), None
    while position < len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        kind, body = data[position + 4 : position + 8], data[position + 8 : position + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            compressed += body
        position += 12 + length
    assert header is not None
    width, height, depth, colour_type, _, _, interlace = header
    assert depth == 8 and colour_type in (2, 6) and interlace == 0, header
    channels = 3 if colour_type == 2 else 4
    stride = width * channels
    scanlines = np.frombuffer(zlib.decompress(bytes(compressed)), dtype=np.uint8).reshape(height, 1 + stride)
    image = np.zeros((height, stride), dtype=np.uint8)
    previous = np.zeros(stride, dtype=np.uint8)
    for y in range(height):
        kind, line = int(scanlines[y, 0]), scanlines[y, 1:]
        if kind == 0:
            row = line.copy()
        elif kind == 1:  # Sub: a running sum along the row, per channel (uint8 wraps as PNG's modulo 256)
            row = np.cumsum(line.reshape(width, channels), axis=0, dtype=np.uint8).reshape(stride)
        elif kind == 2:  # Up
            row = line + previous
        else:  # Average and Paeth depend on the pixel just decoded: byte by byte
            row = np.frombuffer(_unfilter(kind, line.tolist(), previous.tolist(), channels), dtype=np.uint8)
        image[y] = row
        previous = row
    return image.reshape(height, width, channels)[..., :3]


def _unfilter(kind: int, line: list[int], above: list[int], channels: int) -> bytes:
    out = bytearray(len(line))
    for index, value in enumerate(line):
        left = out[index - channels] if index >= channels else 0
        up = above[index]
        if kind == 3:
            out[index] = (value + ((left + up) >> 1)) & 0xFF
            continue
        upper_left = above[index - channels] if index >= channels else 0
        estimate = left + up - upper_left
        distances = (abs(estimate - left), abs(estimate - up), abs(estimate - upper_left))
        predictor = (
            left
            if distances[0] <= distances[1] and distances[0] <= distances[2]
            else (up if distances[1] <= distances[2] else upper_left)
        )
        out[index] = (value + predictor) & 0xFF
    return bytes(out)


def test_report_file_replaces_an_old_one_whole(warehouse: Path, tmp_path: Path) -> None:
    """A report is renamed into place (no half-written page, no leftovers) and ages count from the `now` given."""
    out = tmp_path / "nested" / "report.html"
    out.parent.mkdir()
    out.write_text("old")
    con = connect(warehouse, read_only=True)
    try:
        written = write_report(con, out, now=datetime(2030, 1, 1, tzinfo=UTC))
    finally:
        con.close()
    assert written == out and out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert [path.name for path in out.parent.iterdir()] == ["report.html"]
    charts = figures(parse(out.read_text(encoding="utf-8")))
    assert table_rows(charts["group-freshness"])[-1][0] == "over a year"  # measured from the `now` given
    assert int(table_rows(charts["group-freshness"])[-1][1]) > 0
