"""Charts for BENCHMARKS.md: one SVG per group of rows, linked from a "## Charts" section.

Usage: python3 bench/charts.py [BENCHMARKS.md] [--out-dir DIR]

Reads every results table of the file (a table whose header has Measurement, Component and
Baseline columns: the main table, grouped by its `#` column, and appended ones such as the
Node host's, grouped by their section heading) and writes into DIR (default: `benchmarks/`
beside the file):
- `group-<name>.svg` for each group with at least one time: per measurement, a bar for the
  component's time and one per baseline (times normalized to ns; log scale when the bars span
  more than 30x), each labelled with its value, under the row's text, ratio and goal;
- `group-<name>-entries.svg` for each group whose rows name two or more entry counts ("at N
  entries"): cost against the number of entries on a log axis, one line per series.
Stale `group-*.svg` files in DIR are removed. The file then gets, between two marker comments,
a "## Charts" section linking each SVG with a one-line caption; a second run replaces that
section instead of adding another. Cells without a time are skipped. Exits with status 2 and
a message on stderr only when the file holds no results table.
"""

import argparse
import math
import os
import re
import sys
import textwrap
from xml.sax.saxutils import escape

BEGIN = "<!-- charts:begin (written by bench/charts.py) -->"
END = "<!-- charts:end -->"
UNIT_NS = {"ns": 1.0, "µs": 1e3, "μs": 1e3, "us": 1e3, "ms": 1e6, "s": 1e9}
# The first alternative is the micro sign (U+00B5), the second the Greek mu (U+03BC).
TIME = re.compile(r"(?<![\w.])(\d[\d,]*(?:\.\d+)?)\s?(ns|µs|μs|us|ms|s)(?!\w)")
QUANTITY = re.compile(r"(\d[\d,]*(?:\.\d+)?)\s?([^\d\s;,()]*)")
ENTRIES = re.compile(r"\bat (\d[\d,_]*) entries\b")
COMPONENT_COLOR = "#d95f02"
PALETTE = ["#1b6ca8", "#4daf4a", "#7570b3", "#888888", "#e7298a", "#a6761d"]
FONT = 'font-family="Helvetica, Arial, sans-serif" font-size="12"'
WIDTH, NAME_W, BAR_X, BAR_W = 880, 180, 190, 540  # bar values get the 150 px right of BAR_X+BAR_W


def plain(cell):
    """The cell's text without Markdown emphasis or code marks."""
    return re.sub(r"\s+", " ", cell.replace("`", "").replace("**", "")).strip()


def number(text):
    return float(text.replace(",", ""))


def times(cell):
    """[(name, ns, label)] for each `;`-separated part of the cell holding a time.

    The name is the text before the time ("seed 478 ns"); the label is the time as written,
    with its per-operation unit when one follows ("495 ns /get")."""
    out = []
    for part in plain(cell).split(";"):
        m = TIME.search(part)
        if not m:
            continue
        rest = part[m.end():].split()
        per = " " + rest[0] if rest and rest[0].startswith("/") else ""
        ns = number(m.group(1)) * UNIT_NS[m.group(2)]
        out.append((part[: m.start()].strip(), ns, m.group(0) + per))
    return out


def quantity(cell):
    """(value, unit) of a cell such as `53.1 B`, `0.80×` or `8.4 µs` (times in ns), or None."""
    t = times(cell)
    if t:
        return t[0][1], "ns"
    m = QUANTITY.search(plain(cell))
    return (number(m.group(1)), m.group(2)) if m else None


def split_row(line):
    cells = re.split(r"(?<!\\)\|", line.strip())
    return [c.strip().replace("\\|", "|") for c in cells[1:-1]]


def parse(text):
    """Rows of every results table, as dicts with group, what, component, baseline, measured, goal."""
    rows, heading, lines, i = [], "", text.splitlines(), 0
    while i < len(lines):
        line = lines[i]
        if re.match(r"#{1,6} ", line):
            heading = re.sub(r"\(.*?\)|`", "", line.lstrip("#")).strip()
        header = [plain(c).lower() for c in split_row(line)] if line.startswith("|") else []
        if not {"measurement", "component", "baseline"} <= set(header):
            i += 1
            continue
        col = {name: header.index(name) for name in header}
        i += 2  # the header and the |---| line
        while i < len(lines) and lines[i].startswith("|"):
            cells = split_row(lines[i])
            i += 1
            if len(cells) < len(header):
                continue
            get = lambda name: cells[col[name]] if name in col else ""  # noqa: E731
            rows.append({
                "group": plain(get("#")) or heading or "results",
                "what": plain(get("measurement")),
                "component": get("component"),
                "baseline": get("baseline"),
                "measured": plain(get("measured") or get("ratio")),
                "goal": plain(get("goal")),
                "met": plain(get("met")),
            })
    return rows


def fmt_ns(ns):
    """Like the Rust report's `ns`: 495 ns, 16.8 µs, 356.2 ms."""
    if ns >= 1e9:
        return f"{ns / 1e9:g} s"
    if ns >= 1e6:
        return f"{ns / 1e6:g} ms"
    if ns >= 1e3:
        return f"{ns / 1e3:g} µs"
    return f"{ns:g} ns"


def fmt_value(v, unit):
    return fmt_ns(v) if unit == "ns" else f"{v:g} {unit}".strip()


class Scale:
    """Maps values onto [0, length] px: log10 when they span more than 30x, else linear from 0."""

    def __init__(self, values, length):
        lo, hi = min(values), max(values)
        self.length = length
        self.log = lo > 0 and hi / lo > 30
        if self.log:
            self.lo, self.hi = math.floor(math.log10(lo)), math.ceil(math.log10(hi))
            self.hi += self.hi == self.lo
            self.ticks = [10.0 ** e for e in range(self.lo, self.hi + 1)]
        else:
            raw = (hi or 1) / 5
            mag = 10 ** math.floor(math.log10(raw))
            step = next(s * mag for s in (1, 2, 5, 10) if s * mag >= raw)
            top = step * math.ceil(hi / step - 1e-9) or step
            self.lo, self.hi = 0.0, top
            self.ticks = [k * step for k in range(round(top / step) + 1)]

    def __call__(self, v):
        if self.log:
            v = max(v, 10.0 ** self.lo)
            return (math.log10(v) - self.lo) / (self.hi - self.lo) * self.length
        return v / self.hi * self.length


def text(x, y, s, anchor="start", extra=""):
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}"{extra}>{escape(s)}</text>'


def svg(height, title, body):
    return "\n".join([
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height:.0f}" '
        f'viewBox="0 0 {WIDTH} {height:.0f}" {FONT}>',
        f"<title>{escape(title)}</title>",
        f'<rect width="{WIDTH}" height="{height:.0f}" fill="white"/>',
        text(10, 22, title, extra=' font-size="15" font-weight="bold"'),
        *body, "</svg>", ""])


def note(row):
    """`measured 0.80× · goal ≥ 4.00× · met: no`, leaving out what the row does not have."""
    parts = [f"measured {row['measured']}" if row["measured"] else ""]
    if row["goal"] and row["goal"] != "—":
        parts.append(f"goal {row['goal']}")
    if row["met"] and row["met"] != "—":
        parts.append(f"met: {row['met']}")
    return " · ".join(p for p in parts if p)


def bar_chart(group, rows):
    """The SVG of one group's bars, or None when no row's Component cell holds a time."""
    items = []
    for row in rows:
        # A row "cost at N ÷ cost at M" compares one side at two sizes: name the bars by size.
        counts = [f"at {int(n.replace(',', '').replace('_', '')):,} entries" for n in ENTRIES.findall(row["what"])]
        sides = counts[:2] if len(counts) >= 2 else ["component", "baseline"]
        bars = [(sides[0], ns, label) for _, ns, label in times(row["component"])[:1]]
        if not bars:
            continue
        bars += [(name or sides[1], ns, label) for name, ns, label in times(row["baseline"])]
        items.append((row, bars))
    if not items:
        return None
    scale = Scale([ns for _, bars in items for _, ns, _ in bars], BAR_W)
    colors = {}
    body, y = [], 44
    for row, bars in items:
        body.append(f"<g><title>{escape(row['what'])}</title>")
        for line in textwrap.wrap(row["what"], 125):
            y += 15
            body.append(text(10, y, line, extra=' font-weight="bold"'))
        if note(row):
            y += 15
            body.append(text(10, y, note(row), extra=' fill="#555"'))
        y += 6
        for name, ns, label in bars:
            color = COMPONENT_COLOR if name == "component" else colors.setdefault(
                name, PALETTE[len(colors) % len(PALETTE)])
            w = max(scale(ns), 1.0)
            short = name if len(name) <= 28 else name[:27] + "…"
            body.append(text(NAME_W, y + 11, short, "end"))
            body.append(f'<rect x="{BAR_X}" y="{y}" width="{w:.1f}" height="14" fill="{color}"/>')
            body.append(text(BAR_X + w + 5, y + 11, label))
            y += 18
        body.append("</g>")
        y += 12
    top, bottom = 44, y
    axis = [f'<line x1="{BAR_X}" y1="{top}" x2="{BAR_X}" y2="{bottom}" stroke="#333"/>',
            f'<line x1="{BAR_X}" y1="{bottom}" x2="{BAR_X + BAR_W}" y2="{bottom}" stroke="#333"/>']
    for t in scale.ticks:
        x = BAR_X + scale(t)
        axis.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{bottom}" stroke="#ddd"/>')
        axis.append(text(x, bottom + 15, fmt_ns(t), "middle", ' fill="#333"'))
    kind = "log scale" if scale.log else "linear scale"
    axis.append(text(BAR_X + BAR_W / 2, bottom + 32, f"time per operation ({kind}, shorter is faster)",
                     "middle", ' fill="#333"'))
    # Grid lines first, so that bars and labels are drawn over them.
    return svg(bottom + 44, f"{row_name(group)}: component and baseline times", axis + body), len(items)


def entry_series(rows):
    """{series label: (unit, {entries: value})} from rows naming entry counts."""
    series = {}
    for row in rows:
        counts = [int(n.replace(",", "").replace("_", "")) for n in ENTRIES.findall(row["what"])]
        if len(counts) >= 2:
            # "cost at N ÷ cost at M": the Component cell is at N, the Baseline cell at M.
            a, b = times(row["component"]), times(row["baseline"])
            if not (a and b):
                continue
            points, unit = {counts[0]: a[0][1], counts[1]: b[0][1]}, "ns"
        elif len(counts) == 1 and quantity(row["measured"]):
            value, unit = quantity(row["measured"])
            points = {counts[0]: value}
        else:
            continue
        # The bench marks the native comparison lines with a leading "baseline:"; a row whose
        # text (entry counts aside) differs from its series' is a variant with its own line.
        label = "native baseline" if row["what"].lower().startswith("baseline") else "component"
        key = ENTRIES.sub("", row["what"])
        if label in series and series[label][2] != key:
            # Name the variant by what its text adds ("read path off"), else by its text.
            words = lambda t: [w.strip(",;:()") for w in t.split()]  # noqa: E731
            extra = " ".join(w for w in words(key) if w not in words(series[label][2]))
            label = textwrap.shorten(extra or key, 60)
        unit0, pts, _ = series.setdefault(label, (unit, {}, key))
        if unit == unit0:
            pts.update((x, v) for x, v in points.items() if x > 0)  # the x axis is log10
    return {k: (u, p) for k, (u, p, _) in series.items()}


def goal_line(rows, unit):
    """The goal value shared by the rows when it is stated in the chart's unit, else None."""
    goals = {quantity(r["goal"]) for r in rows if r["goal"].startswith(("≤", "≥"))}
    goals.discard(None)
    return next(iter(goals))[0] if len(goals) == 1 and next(iter(goals))[1] == unit else None


def entries_chart(group, rows):
    """The SVG of cost against entries, or None when the group names fewer than two counts."""
    series = {k: v for k, v in entry_series(rows).items() if v[1]}
    unit = next(iter(series.values()))[0] if series else None
    series = {k: pts for k, (u, pts) in series.items() if u == unit}
    xs = sorted({x for pts in series.values() for x in pts})
    if len(xs) < 2:
        return None
    goal = goal_line(rows, unit)
    left, w, h, inset = 90, 700, 300, 40  # the inset keeps end points and their labels off the axes
    top = 50 + 18 * len(series)  # the legend's lines go above the plot
    ys = Scale([v for pts in series.values() for v in pts.values()] + ([goal] if goal else []), h)
    lx0, lx1 = math.log10(xs[0]), math.log10(xs[-1])
    px = lambda x: left + inset + (math.log10(x) - lx0) / (lx1 - lx0) * (w - 2 * inset)  # noqa: E731
    py = lambda v: top + h - ys(v)  # noqa: E731
    body = [f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + h}" stroke="#333"/>',
            f'<line x1="{left}" y1="{top + h}" x2="{left + w}" y2="{top + h}" stroke="#333"/>']
    for t in ys.ticks:
        body.append(f'<line x1="{left}" y1="{py(t):.1f}" x2="{left + w}" y2="{py(t):.1f}" stroke="#ddd"/>')
        body.append(text(left - 6, py(t) + 4, fmt_value(t, unit), "end", ' fill="#333"'))
    for x in xs:
        body.append(f'<line x1="{px(x):.1f}" y1="{top}" x2="{px(x):.1f}" y2="{top + h}" stroke="#eee"/>')
        body.append(text(px(x), top + h + 16, f"{x:,}", "middle", ' fill="#333"'))
    body.append(text(left + w / 2, top + h + 36, "entries (log scale)", "middle", ' fill="#333"'))
    if goal is not None:
        body.append(f'<line x1="{left}" y1="{py(goal):.1f}" x2="{left + w}" y2="{py(goal):.1f}" '
                    'stroke="#c00" stroke-dasharray="6 4"/>')
        body.append(text(left + w - 4, py(goal) - 5, f"goal {fmt_value(goal, unit)}", "end", ' fill="#c00"'))
    others = iter(PALETTE * len(series))
    for i, (name, pts) in enumerate(series.items()):
        color = COMPONENT_COLOR if name == "component" else next(others)
        coords = [(px(x), py(v), v) for x, v in sorted(pts.items())]
        body.append(f'<g><title>{escape(name)}</title><polyline fill="none" stroke="{color}" stroke-width="2" '
                    f'points="{" ".join(f"{x:.1f},{y:.1f}" for x, y, _ in coords)}"/>')
        for x, y, v in coords:
            body.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{color}"/>')
            body.append(text(x, y - 8, fmt_value(v, unit), "middle", f' fill="{color}"'))
        body.append("</g>")
        ly = 46 + i * 18
        body.append(f'<rect x="{left}" y="{ly - 10}" width="12" height="12" fill="{color}"/>')
        body.append(text(left + 18, ly, name))
    kind = "log" if ys.log else "linear"
    first = next(r["what"] for r in rows if ENTRIES.search(r["what"]))
    per = "time per operation" if unit == "ns" else f"{re.split(r'[:(]| at ', first)[0].strip()} ({unit})"
    title = f"{row_name(group)}: {per} against the number of entries ({kind} y)"
    return svg(top + h + 50, title, body), (xs[0], xs[-1], list(series))


def row_name(group):
    """`Row 6`, `Row Py`; a section heading (an appended table's group) as it is."""
    return f"Row {group}" if len(group) <= 8 else group


def slug(group):
    return re.sub(r"[^a-z0-9]+", "-", group.lower()).strip("-") or "group"


def write_charts(md_path, out_dir):
    with open(md_path, encoding="utf-8") as f:
        doc = f.read()
    rows = parse(doc)
    if not rows:
        print(f"charts.py: {md_path} holds no results table "
              "(a Markdown table with Measurement, Component and Baseline columns)", file=sys.stderr)
        sys.exit(2)
    groups = {}
    for row in rows:
        groups.setdefault(row["group"], []).append(row)
    os.makedirs(out_dir, exist_ok=True)
    rel = os.path.relpath(out_dir, os.path.dirname(os.path.abspath(md_path)) or ".")
    links, written = [], set()
    for group, grows in groups.items():
        name = f"group-{slug(group)}"
        bars = bar_chart(group, grows)
        if bars:
            met = [r["met"] for r in grows if r["met"] in ("yes", "no")]
            goals = f"; goals met: {met.count('yes')} of {len(met)}" if met else ""
            links.append((f"{name}.svg", f"{row_name(group)}: component and baseline times, "
                          f"{bars[1]} measurement{'s' * (bars[1] != 1)}{goals}"))
            written.add(f"{name}.svg")
            with open(os.path.join(out_dir, f"{name}.svg"), "w", encoding="utf-8") as f:
                f.write(bars[0])
        ent = entries_chart(group, grows)
        if ent:
            lo, hi, names = ent[1]
            links.append((f"{name}-entries.svg", f"{row_name(group)}: cost from {lo:,} to {hi:,} entries "
                          f"({', '.join(names)})"))
            written.add(f"{name}-entries.svg")
            with open(os.path.join(out_dir, f"{name}-entries.svg"), "w", encoding="utf-8") as f:
                f.write(ent[0])
    for old in os.listdir(out_dir):
        if old.startswith("group-") and old.endswith(".svg") and old not in written:
            os.remove(os.path.join(out_dir, old))
    section = "\n".join(
        [BEGIN, "## Charts", "",
         "Drawn by `bench/charts.py` from the tables above: per group of rows, the component's "
         "time beside each baseline's (a log scale where they span more than 30×), and the cost "
         "against the number of entries where the rows vary it.", ""]
        + [f"- [{caption}]({rel}/{fname})".replace(os.sep, "/") for fname, caption in links]
        + ["" if links else "No row of this run holds a time.", END])
    with open(md_path, "w", encoding="utf-8") as f:
        f.write(place(doc, section))
    return [os.path.join(out_dir, fname) for fname, _ in links]


def place(doc, section):
    """The document with the section replaced between its markers, or inserted before the first
    `## ` heading after the main table (the end of the file when there is none)."""
    pattern = re.compile(re.escape(BEGIN) + r".*?" + re.escape(END) + r"\n*", re.S)
    if pattern.search(doc):
        return pattern.sub(lambda _: section + "\n\n", doc, count=1)
    table = doc.find("\n|")
    heading = doc.find("\n## ", table if table >= 0 else 0)
    if heading < 0:
        return doc.rstrip("\n") + "\n\n" + section + "\n"
    return doc[: heading + 1] + section + "\n\n" + doc[heading + 1:]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("markdown", nargs="?", default="BENCHMARKS.md")
    ap.add_argument("--out-dir", help="where the SVGs go (default: benchmarks/ beside the file)")
    args = ap.parse_args(argv)
    out = args.out_dir or os.path.join(os.path.dirname(args.markdown), "benchmarks")
    if not os.path.isfile(args.markdown):
        print(f"charts.py: no such file: {args.markdown}", file=sys.stderr)
        sys.exit(2)
    paths = write_charts(args.markdown, out)
    print(f"charts.py: {len(paths)} charts in {out}, linked from {args.markdown}")


if __name__ == "__main__":
    main()
