"""The heavy rules' own measurements, summed per rule: wsmr.rule_times as a command.

    python benchmarks/rule_times.py                 # every dataset under results/
    python benchmarks/rule_times.py --dataset shapes
"""

from __future__ import annotations

import argparse
from pathlib import Path

from wsmr.rule_times import summary, to_markdown


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--results", type=Path, default=Path("results"))
    parser.add_argument("--dataset")
    args = parser.parse_args()
    rows = summary(args.results, args.dataset)
    if not rows:
        raise SystemExit(f"no benchmark files under {args.results}/*/benchmarks: run the DAG first")
    print(to_markdown(rows))


if __name__ == "__main__":
    main()
