"""Tables in the README and docs, generated from the tables the DAG writes, never pasted.

A markdown file marks each generated table with a header comment and an end comment:

    <!-- table from results/tables/shapes.headline.csv, results/tables/shapes.csv
    rows: random/default, prior/default, scn/full, cpl/full (reported)
    columns: R@1 IoU=0.3, R@1 IoU=0.5, mIoU, R@1 IoU=0.5 other query -->
    | row | R@1 IoU=0.3 | ...
    <!-- end of table -->

`wsmr doc-tables FILE...` (`make docs`) rewrites what lies between the two from the CSV tables
(`reporting.to_csv`): each row from the first table listed that has it, each cell its mean ± std
over the seeds. A row written `method/variant` is ours; `method/variant (reported)` is the papers'
row. `<!-- rule times from results/shapes/benchmarks -->` (closed the same way) is the sum of
that folder's Snakemake `benchmark:` files per rule (`wsmr.rule_times`). `--check` rewrites
nothing and lists the blocks that differ from their sources.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

from wsmr.io import atomic_path

HEADER = re.compile(r"<!-- (?:table from (?P<sources>[^\n]*)\nrows: (?P<rows>[^\n]*)\n"
                    r"columns: (?P<columns>[^\n]*?)"
                    r"|rule times from (?P<benchmarks>\S+)) -->\n")
END = "<!-- end of table -->"
REPORTED = " (reported)"
EMPTY = "—"


class DocTableError(ValueError):
    pass


@dataclass(frozen=True)
class Block:
    """One generated table of a document: where its text lies, and what it shows."""
    line: int                # the header's line number in the document (1-based)
    start: int               # offset of the generated text
    end: int                 # offset of the end comment
    sources: list[str]       # a table's CSV files...
    rows: list[str]
    columns: list[str]
    benchmarks: str | None   # ...or a dataset's benchmark folder


def split_list(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]


def blocks(text: str, where: str) -> list[Block]:
    """The document's generated tables, each header closed by an end comment."""
    found = []
    for match in HEADER.finditer(text):
        line = text.count("\n", 0, match.start()) + 1
        end = text.find(END, match.end())
        if end < 0:
            raise DocTableError(f"{where}:{line}: a generated table without {END!r}")
        found.append(Block(line, match.end(), end, split_list(match["sources"] or ""),
                           split_list(match["rows"] or ""), split_list(match["columns"] or ""),
                           match["benchmarks"]))
    return found


def read_table(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def find_row(name: str, tables: dict[str, list[dict]]) -> dict | None:
    """`method/variant` (ours) or `method/variant (reported)` from the first table that has it."""
    reported = name.endswith(REPORTED)
    method, _, variant = name.removesuffix(REPORTED).partition("/")
    for rows in tables.values():
        for row in rows:
            if (row["method"], row["variant"]) == (method, variant) \
                    and row["source"].startswith("reported") == reported:
                return row
    return None


def cell(row: dict, column: str, where: str) -> str:
    if column not in row:
        raise DocTableError(f"{where}: no column {column!r} in the tables; they have: "
                            f"{sorted(k for k in row if not k.endswith(' std'))}")
    mean, std = row[column], row.get(f"{column} std", "")
    if mean == "":
        return EMPTY
    return f"{mean} ± {std}" if std != "" else mean


def render(block: Block, root: Path, where: str) -> str:
    """The block's markdown table, from its sources under `root`."""
    where = f"{where}:{block.line}"
    if block.benchmarks:
        return rule_times_table(root / block.benchmarks, where)
    tables = {}
    for source in block.sources:
        path = root / source
        if not path.exists():
            raise DocTableError(f"{where}: {source} does not exist; build it first "
                                f"(snakemake {source})")
        tables[source] = read_table(path)
    lines = ["| row | " + " | ".join(block.columns) + " |",
             "|---|" + "---|" * len(block.columns)]
    for name in block.rows:
        row = find_row(name, tables)
        if row is None:
            raise DocTableError(f"{where}: row {name!r} is in none of {block.sources}")
        lines.append(f"| {name} | " + " | ".join(cell(row, c, where) for c in block.columns)
                     + " |")
    return "\n".join(lines) + "\n"


def rule_times_table(benchmarks: Path, where: str) -> str:
    from wsmr.rule_times import summary, to_markdown

    if benchmarks.name != "benchmarks" or not benchmarks.is_dir():
        raise DocTableError(f"{where}: {benchmarks} is not a results/{{dataset}}/benchmarks "
                            "folder; run the DAG first")
    return to_markdown(summary(benchmarks.parent.parent, benchmarks.parent.name)) + "\n"


def regenerate(text: str, root: Path, where: str) -> tuple[str, list[int]]:
    """The document with every block generated anew, and the header lines of those that
    changed."""
    pieces, changed, offset = [], [], 0
    for block in blocks(text, where):
        table = render(block, root, where)
        if text[block.start:block.end] != table:
            changed.append(block.line)
        pieces += [text[offset:block.start], table]
        offset = block.end
    return "".join(pieces) + text[offset:], changed


def update_files(paths: list[Path], root: Path, check: bool) -> list[str]:
    """Regenerate each file's tables in place (atomically), or with `check` only report them:
    `file:line` of every table that was (or would be) rewritten."""
    stale = []
    for path in paths:
        text = path.read_text(encoding="utf-8")
        new, changed = regenerate(text, root, str(path))
        stale += [f"{path}:{line}" for line in changed]
        if changed and not check:
            with atomic_path(path) as tmp:
                tmp.write_text(new, encoding="utf-8")
    return stale
