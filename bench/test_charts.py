"""bench/charts.py on a small synthetic BENCHMARKS.md: the SVGs, their text, the section's idempotence,
and the failure on a file without a results table. Run: python -m pytest -q bench/test_charts.py"""

import os
import subprocess
import sys
import xml.etree.ElementTree as ET

SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "charts.py")
SVG = "{http://www.w3.org/2000/svg}"

DOC = """# Benchmarks

Machine: test

| # | Measurement | Component | Baseline | Measured | Goal | Met |
|---|---|---|---|---|---|---|
| 1 | hot `get`, 64 B: CPython LRUCache time ÷ component time | 495 ns /get | 397 ns /get | 0.80× | ≥ 4.00× | **no** |
| 1 | hot `set`, 2 KiB: CPython LRUCache time ÷ component time | 2621 ns /set | 470 ns /set | 0.18× | — | — |
| 4 | `persist-all` of 100000 dirty entries, 64 B: component ÷ bare rusqlite upsert | 356.2 ms | 326.3 ms | 1.09× | ≤ 1.25× | yes |
| 4 | instantiate alone, 64 B | 146.2 µs | — | 0.146 ms | ≤ 1.000 ms | yes |
| 6 | hot `get` at 100000 entries ÷ at 1000 entries (64 B values) | 582 ns /get | 482 ns /get | 1.21× | — | — |
| 6 | hot `get` at 1000000 entries ÷ at 1000 entries (64 B values) | 693 ns /get | 482 ns /get | 1.44× | ≤ 2.00× | yes |
| 6 | baseline: native `lru` + `Mutex` `get` at 100000 entries ÷ at 1000 entries | 88.4 ns /get | 35.3 ns /get | 2.51× | — | — |
| 7 | guest memory per entry at 1000 entries (64 B values): growth ÷ entries | 0.1 MiB growth | 78.0 B key+value | 53.1 B | — | — |
| 7 | guest memory per entry at 100000 entries (64 B values): growth ÷ entries | 14.9 MiB growth | 78.0 B key+value | 78.0 B | ≤ 96.0 B | yes |
| Py | `getUserState` from Python (hot): package time ÷ the seed's time | 1666 ns /call | seed 478 ns; cachetools+RLock 505 ns; diskcache 16.8 µs | 3.48× | ≤ 2.00× | **no** |
| Py | a row without any time | fast | slow | failed | — | — |
| New-group | something added later, read path off | 12.2 µs /call | 8 µs /call | 1.52× | — | — |

## Details of this run

- notes

## Node host per call (`bench/node/percall.mjs`)

| Measurement | Component | Baseline | Ratio |
|---|---|---|---|
| hot `get`, 64 B, memory-only: component (jco, V8) ÷ JS `Map` as an LRU | 3370 ns /get | 149 ns /get | 22.65× |
"""

# (file, measurement label, values its SVG must show)
EXPECTED = [
    ("group-1.svg", "hot get, 64 B: CPython LRUCache time ÷ component time", ["495 ns /get", "397 ns /get"]),
    ("group-1.svg", "hot set, 2 KiB: CPython LRUCache time ÷ component time", ["2621 ns /set", "470 ns /set"]),
    ("group-4.svg", "persist-all of 100000 dirty entries, 64 B: component ÷ bare rusqlite upsert",
     ["356.2 ms", "326.3 ms"]),
    ("group-4.svg", "instantiate alone, 64 B", ["146.2 µs"]),
    ("group-6.svg", "hot get at 1000000 entries ÷ at 1000 entries (64 B values)", ["693 ns /get", "482 ns /get"]),
    ("group-py.svg", "getUserState from Python (hot): package time ÷ the seed's time",
     ["1666 ns /call", "478 ns", "505 ns", "16.8 µs"]),
    ("group-new-group.svg", "something added later, read path off", ["12.2 µs /call", "8 µs /call"]),
    ("group-node-host-per-call.svg", "hot get, 64 B, memory-only: component (jco, V8) ÷ JS Map as an LRU",
     ["3370 ns /get", "149 ns /get"]),
]


def run(path, *args):
    return subprocess.run([sys.executable, SCRIPT, str(path), *args], capture_output=True, text=True)


def texts(svg_path):
    """Every visible text and every tooltip title of the SVG (parsing it checks it is well-formed)."""
    root = ET.parse(svg_path).getroot()
    assert root.tag == SVG + "svg"
    return ["".join(e.itertext()) for e in root.iter() if e.tag in (SVG + "text", SVG + "title")]


def test_charts(tmp_path):
    md = tmp_path / "BENCHMARKS.md"
    md.write_text(DOC, encoding="utf-8")
    done = run(md)
    assert done.returncode == 0, done.stderr
    out = tmp_path / "benchmarks"
    names = sorted(os.listdir(out))
    assert names == sorted({"group-1.svg", "group-4.svg", "group-6.svg", "group-6-entries.svg",
                            "group-7-entries.svg", "group-py.svg", "group-new-group.svg",
                            "group-node-host-per-call.svg"})
    for name, label, values in EXPECTED:
        found = texts(out / name)
        assert label in found, (name, label)
        for v in values:
            assert v in found, (name, v)
    # Cost against entries: every point, both series of row 6, the goal of row 7.
    six = texts(out / "group-6-entries.svg")
    for v in ["482 ns", "582 ns", "693 ns", "35.3 ns", "88.4 ns", "component", "native baseline", "1,000,000"]:
        assert v in six, v
    seven = texts(out / "group-7-entries.svg")
    for v in ["53.1 B", "78 B", "goal 96 B"]:
        assert v in seven, v

    text = md.read_text(encoding="utf-8")
    assert text.count("## Charts") == 1
    for name in names:
        assert f"(benchmarks/{name})" in text
    # The section goes before the first heading after the main table; the rest is kept.
    assert text.index("## Charts") < text.index("## Details of this run")
    assert text.replace(text[text.index("<!-- charts:begin"):text.index("## Details")], "") == DOC

    # A second run replaces the section (and charts of groups gone since are removed).
    (out / "group-gone.svg").write_text("<svg/>")
    assert run(md).returncode == 0
    assert md.read_text(encoding="utf-8") == text
    assert sorted(os.listdir(out)) == names


def test_out_dir(tmp_path):
    md = tmp_path / "smoke.md"
    md.write_text(DOC, encoding="utf-8")
    assert run(md, "--out-dir", str(tmp_path / "pics")).returncode == 0
    assert (tmp_path / "pics" / "group-1.svg").exists()
    assert "(pics/group-1.svg)" in md.read_text(encoding="utf-8")


def test_no_table_fails(tmp_path):
    md = tmp_path / "BENCHMARKS.md"
    md.write_text("# Benchmarks\n\nNothing measured.\n\n| a | b |\n|---|---|\n| 1 | 2 |\n", encoding="utf-8")
    done = run(md)
    assert done.returncode != 0
    assert "no results table" in done.stderr
    assert md.read_text(encoding="utf-8").count("Charts") == 0
