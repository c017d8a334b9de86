"""Command line: `python -m pipeline sample [--out DIR]`, `explain QUARTER INDICATOR_ID [--rows FILE]`, `latest-quarter`."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipeline", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    sample = commands.add_parser("sample", help="write the deterministic sample exports (2020-Q1, 2020-Q2)")
    sample.add_argument("--out", default=os.environ.get("RAW_DIR", "raw"), help="raw root (default: $RAW_DIR or raw/)")
    sample.add_argument("--seed", type=int, default=None)
    commands.add_parser("latest-quarter", help="print the newest quarter folder under $RAW_DIR")
    commands.add_parser("release-stale-runs", help="fail runs whose process died and free their pool slots")
    backfill = commands.add_parser("backfill", help="materialize every quarter from FIRST to LAST, one run each")
    backfill.add_argument("first")
    backfill.add_argument("last")
    explain = commands.add_parser("explain", help="how a figure was computed, down to the raw rows")
    explain.add_argument("quarter")
    explain.add_argument("indicator_id")
    explain.add_argument("--rows", type=Path, help="write the contributing rows to FILE.xlsx or FILE.csv")
    history = commands.add_parser("history", help="the versions of a quarter's figures and what changed between them")
    history.add_argument("quarter")
    history.add_argument("--latest", action="store_true", help="only the latest version and its changes")
    args = parser.parse_args(argv)
    if args.command == "history":
        from pipeline.history import HistoryError, history as quarter_history
        from pipeline.resources import outputs_dir, warehouse_path

        try:
            print(quarter_history(warehouse_path(), outputs_dir(), args.quarter, args.latest))
        except (HistoryError, ValueError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        return 0
    if args.command == "sample":
        from pipeline.sample.generator import QUARTERS, SEED, generate

        started = time.perf_counter()
        generate(Path(args.out), SEED if args.seed is None else args.seed)
        print(f"wrote {', '.join(QUARTERS)} under {args.out}/ in {time.perf_counter() - started:.1f} s "
              f"(ground truth in {args.out}/sample-truth/)")
        return 0
    if args.command == "explain":
        from pipeline.explain import ExplainError, explain, write_rows
        from pipeline.resources import DEFAULT_RAW_DIR, warehouse_path

        try:
            text, rows = explain(warehouse_path(), os.environ.get("RAW_DIR", DEFAULT_RAW_DIR), args.quarter, args.indicator_id)
        except ExplainError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        print(text)
        if not rows.empty:
            print("  contributing rows per file:")
            for (table, file), count in rows.groupby(["staging_table", "file"]).size().items():
                print(f"    {file}: {count:,} rows ({table})")
        if args.rows:
            write_rows(rows, args.rows)
            print(f"wrote {len(rows):,} contributing rows to {args.rows}")
        return 0
    if args.command == "backfill":
        import subprocess

        from pipeline.partitions import quarter_keys

        quarters = [q for q in quarter_keys(args.last) if q >= args.first]
        dagster = Path(sys.executable).with_name("dagster")
        failed = []
        for n, quarter in enumerate(quarters, start=1):
            print(f"[{n}/{len(quarters)}] materializing {quarter}", flush=True)
            done = subprocess.run([str(dagster), "asset", "materialize", "-m", "pipeline.definitions", "--select", "*",
                                   "--partition", quarter], capture_output=True, text=True)
            print(f"[{n}/{len(quarters)}] {quarter}: {'ok' if done.returncode == 0 else 'FAILED'}", flush=True)
            if done.returncode:
                failed.append(quarter)
                print(done.stderr[-2000:], file=sys.stderr)
        if failed:
            print(f"failed quarters: {', '.join(failed)}", file=sys.stderr)
        return 1 if failed else 0
    if args.command == "release-stale-runs":
        import dagster as dg

        from pipeline.maintenance import release_stale_runs

        released = release_stale_runs(dg.DagsterInstance.get())
        for run in released:
            print(f"released run {run.run_id}: its process ({run.pids}) is gone; marked failed, pool slots freed")
        return 0
    if args.command == "latest-quarter":
        from pipeline.partitions import parse_quarter

        root = Path(os.environ.get("RAW_DIR", "raw"))
        quarters = []
        for p in root.iterdir() if root.is_dir() else []:
            try:
                quarters.append((parse_quarter(p.name), p.name))
            except ValueError:
                continue
        if not quarters:
            print(f"no quarter folder (YYYY-Qn) under {root}/", file=sys.stderr)
            return 1
        print(max(quarters)[1])
        return 0
    return 2


if __name__ == "__main__":
    sys.exit(main())
