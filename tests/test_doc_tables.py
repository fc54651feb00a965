"""The README's and docs' tables are generated from the DAG's CSV tables (wsmr.doc_tables)."""

from pathlib import Path

import pytest
import yaml

from wsmr import reporting
from wsmr.cli import main
from wsmr.doc_tables import END, DocTableError, blocks, regenerate, update_files

ROOT = Path(__file__).resolve().parents[1]
IOUS = [0.3, 0.5, 0.7]


def metrics(r1_05: float, seed: int) -> dict:
    values = {f"R{n}_IoU{m:g}": r1_05 + 10 * (n == 5) - 10 * (m - 0.5) for n in (1, 5)
              for m in IOUS}
    return {**values, "mIoU": r1_05 - 1.0, "run": {"method": "m", "variant": "v", "seed": seed}}


def write_table(path: Path, dataset: str = "shapes") -> None:
    ours = {("random", "default"): [metrics(10.0, 0), metrics(12.0, 1)],
            ("scn", "full"): [metrics(30.0, 0), metrics(34.0, 1)]}
    control = {**{k: v - 20 for k, v in metrics(30.0, 0).items() if k.startswith("R1_")},
               "reference": metrics(30.0, 0)}
    rows = reporting.build_rows(dataset, ours, IOUS, {("scn", "full"): [control, control]})
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(reporting.to_csv(rows, IOUS))


def doc(rows: str, columns: str = "R@1 IoU=0.5, mIoU, R@1 IoU=0.5 other query",
        sources: str = "results/tables/shapes.csv", body: str = "old\n") -> str:
    return (f"# A page\n\ntext\n<!-- table from {sources}\nrows: {rows}\n"
            f"columns: {columns} -->\n{body}{END}\n\nafter\n")


def test_a_block_is_regenerated_from_the_csv_table(tmp_path):
    write_table(tmp_path / "results/tables/shapes.csv")
    text, changed = regenerate(doc("scn/full, random/default"), tmp_path, "page.md")
    assert changed == [4]
    assert text.startswith("# A page\n\ntext\n<!-- table from") and text.endswith(
        f"{END}\n\nafter\n")
    table = text.split("-->\n", 1)[1].split(END)[0].splitlines()
    assert table == [
        "| row | R@1 IoU=0.5 | mIoU | R@1 IoU=0.5 other query |",
        "|---|---|---|---|",
        "| scn/full | 32.00 ± 2.00 | 31.00 ± 2.00 | 10.00 ± 0.00 |",
        "| random/default | 11.00 ± 1.00 | 10.00 ± 1.00 | — |",   # blind: no control
    ]
    assert regenerate(text, tmp_path, "page.md") == (text, [])   # up to date: unchanged


def test_rows_come_from_the_first_table_listing_them_and_reported_rows_by_name(tmp_path):
    write_table(tmp_path / "results/tables/charades.headline.csv", "charades")
    other = tmp_path / "results/tables/charades.csv"
    write_table(other, "charades")
    other.write_text(other.read_text().replace("scn,full,ours,2,32.00", "scn,full,ours,2,99.00"))
    sources = "results/tables/charades.headline.csv, results/tables/charades.csv"
    text, _ = regenerate(doc("scn/full, scn/full (reported)", "R@1 IoU=0.5", sources),
                         tmp_path, "page.md")
    reported = next(r for r in reporting.reported_rows("charades")
                    if (r["method"], r["variant"]) == ("scn", "full"))
    assert "| scn/full | 32.00 ± 2.00 |" in text
    assert f"| scn/full (reported) | {reported['R1_IoU0.5']:.2f} |" in text


def test_a_missing_row_column_table_or_end_is_an_error_naming_the_place(tmp_path):
    write_table(tmp_path / "results/tables/shapes.csv")
    with pytest.raises(DocTableError, match=r"page.md:4: row 'cpl/full' is in none of"):
        regenerate(doc("cpl/full"), tmp_path, "page.md")
    with pytest.raises(DocTableError, match=r"page.md:4: no column 'R@9 IoU=0.5'"):
        regenerate(doc("scn/full", "R@9 IoU=0.5"), tmp_path, "page.md")
    with pytest.raises(DocTableError, match=r"page.md:4: results/tables/x.csv does not exist"):
        regenerate(doc("scn/full", sources="results/tables/x.csv"), tmp_path, "page.md")
    with pytest.raises(DocTableError, match=r"page.md:4: a generated table without"):
        blocks(doc("scn/full").replace(END, ""), "page.md")


def test_check_mode_reports_stale_tables_and_rewrites_nothing(tmp_path, capsys):
    write_table(tmp_path / "results/tables/shapes.csv")
    page = tmp_path / "page.md"
    page.write_text(doc("scn/full"))
    with pytest.raises(SystemExit, match="1 generated tables differ"):
        main(["doc-tables", "--root", str(tmp_path), "--check", str(page)])
    assert page.read_text() == doc("scn/full")
    main(["doc-tables", "--root", str(tmp_path), str(page)])
    assert "| scn/full | 32.00 ± 2.00 |" in page.read_text()
    assert update_files([page], tmp_path, check=True) == []


def test_the_repositorys_generated_tables_name_rows_and_columns_the_dag_writes():
    """Every block of README.md and docs/ names CSV tables under results/tables, rows that the
    config (or reported_results.yaml) has, and columns of reporting.to_csv's header."""
    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    found = 0
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for block in blocks(path.read_text(), str(path)):
            found += 1
            if block.benchmarks:
                parts = Path(block.benchmarks).parts
                assert parts[0] == "results" and parts[2] == "benchmarks", (path, block.line)
                assert parts[1] in config["datasets"], (path, block.line)
                continue
            assert all(s.startswith("results/tables/") and s.endswith(".csv")
                       for s in block.sources), (path, block.line)
            dataset = Path(block.sources[0]).name.split(".")[0]
            ious = config["datasets"][dataset]["ious"]
            header = reporting.to_csv([], ious).strip().split(",")
            assert set(block.columns) <= set(header), (path, block.line)
            reported = {f"{r['method']}/{r['variant']} (reported)"
                        for r in reporting.reported_rows(dataset)}
            configured = {f"{m}/{v}" for m, spec in config["methods"].items()
                          for v in spec["variants"]}
            assert set(block.rows) <= configured | reported, (path, block.line)
    assert found >= 2


def test_a_rule_times_block_sums_the_benchmark_files_per_rule(tmp_path):
    folder = tmp_path / "results/shapes/benchmarks"
    header = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"
    for name, seconds, rss in (("train/cpl/full/seed0", 100.0, 600), ("train/cpl/full/seed1",
                               140.0, 650), ("pca", 5.0, 300)):
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / f"{name}.tsv").write_text(header + f"{seconds}\t0\t{rss}\t0\t0\t0\t0\t0\t90\t1\n")
    page = "a\n<!-- rule times from results/shapes/benchmarks -->\n" + END + "\n"
    text, changed = regenerate(page, tmp_path, "page.md")
    assert changed == [2]
    assert "| shapes | train cpl/full | 2 | 240 | 140 | 650 |" in text
    assert "| shapes | pca | 1 | 5 | 5 | 300 |" in text
    with pytest.raises(DocTableError, match="page.md:2: .* is not a results/"):
        regenerate(page.replace("results/shapes/benchmarks", "results/x"), tmp_path, "page.md")
