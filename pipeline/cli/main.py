"""Command line of the pipeline (`python -m pipeline COMMAND`; `--help` lists the commands).

Bad input (a quarter that does not exist, a missing landing zone, an unusable warehouse, an unknown
indicator, a bad setting) is one line on stderr and exit status 2; an unexpected failure is one line
naming the file that holds its details, and exit status 1. Never a bare traceback.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import tempfile
import time
import traceback
from pathlib import Path

from pipeline.lib.messages import say
from pipeline.lib.wording import number


class UserError(Exception):
    """A reason the command cannot do what was asked, for the user."""


def _place(args):
    """The folders of the province the command is about (`--province`, else the default province)."""
    from pipeline.lib.provinces import place, require

    return place(require(getattr(args, "province", None)))


def _provinces(args) -> list[str]:
    """`--province`, else every configured province (default first); a landing-zone folder holding quarters that
    is no province stops the command, naming it."""
    from pipeline.lib.provinces import place, province_names, require, unknown_folder_message
    from pipeline.orchestration.partitions import unknown_province_folders

    if args.province:
        return [require(args.province)]
    strays = unknown_province_folders(place().raw_dir)
    if strays:
        raise UserError(unknown_folder_message(strays[0]))
    return province_names()


def cmd_sample(args) -> int:
    from pipeline.sample.generator import QUARTERS, SEED, generate
    from pipeline.sample.variants import VARIANTS_BY_ID

    out = Path(args.out)
    from pipeline.lib.tablespecs import SOURCES

    if args.only is not None and (args.variant is None or args.only not in SOURCES):
        raise UserError(say("sample.only_needs_variant", only=args.only, sources=", ".join(SOURCES)))
    if args.variant is not None and args.variant not in VARIANTS_BY_ID:
        raise UserError(say("sample.unknown_variant", variant=args.variant, variants=", ".join(VARIANTS_BY_ID)))
    if out.exists() and not out.is_dir():
        raise UserError(say("sample.out_is_file", out=out))
    started = time.perf_counter()
    try:
        generate(out, SEED if args.seed is None else args.seed, variant=VARIANTS_BY_ID.get(args.variant), only=args.only)
    except OSError as exc:
        raise UserError(say("sample.cannot_write", out=out, reason=exc.strerror or exc)) from None
    print(say("sample.written", quarters=", ".join(QUARTERS), out=out, seconds=number(round(time.perf_counter() - started, 1))))
    return 0


def cmd_run(args) -> int:
    """The quarter asked for, else every quarter folder without figures yet (oldest first) and the latest, of the
    province asked for, else of every province: each checked first, materialized with its Dagster output to a log
    file, then summarized."""
    from pipeline.cli.preflight import check_run, check_signed, unsigned
    from pipeline.cli.runner import quarters_to_run
    from pipeline.lib.provinces import place
    from pipeline.orchestration.partitions import all_raw_dirs, province_today, wanted_partition_keys

    amend = (args.amend or "").strip() or None
    if args.amend is not None and not amend:
        raise UserError(say("run.amend_needs_reason"))
    if amend and not args.quarter:
        raise UserError(say("run.amend_needs_quarter"))
    planned = []
    latest = wanted_partition_keys(province_today(), *all_raw_dirs())[-1]  # the newest partition, for every province
    for province in _provinces(args):
        where = place(province)
        if args.quarter:
            quarters = check_run([args.quarter], where)
            check_signed(quarters[0], str(where.warehouse), amend)
        else:
            quarters = quarters_to_run(where.raw_dir, where.warehouse, latest)
            if not quarters:
                if args.province or where.is_default:
                    raise UserError(say("run.no_quarter_folder", raw_dir=where.raw_dir))
                continue
            quarters = unsigned(check_run(quarters, where), str(where.warehouse))
        planned += [(where, quarter) for quarter in quarters]
    return _materialize_all(planned, amend)


def _materialize_all(planned: list, amend: str | None = None, keep_going: bool = False) -> int:
    """Each (province's place, quarter) in turn, a summary after each; a failure stops the rest (`run`), or is
    listed at the end (`backfill`, `keep_going`)."""
    from pipeline.cli.runner import failure_text, materialize, summary
    from pipeline.lib.provinces import quarter_label

    failed = []
    for n, (where, quarter) in enumerate(planned, start=1):
        label = quarter_label(where.province, quarter)
        print(say("run.starting_amendment", n=n, total=len(planned), label=label, reason=amend) if amend
              else say("run.starting", n=n, total=len(planned), label=label), flush=True)
        ok, log, seconds = materialize(where.province, quarter, where.warehouse.parent / "logs", amend)
        print(say("run.succeeded" if ok else "run.failed", n=n, total=len(planned), label=label), flush=True)
        if ok:
            print(summary(str(where.warehouse), str(where.outputs_dir), quarter, seconds, log), flush=True)
            continue
        print(failure_text(log), file=sys.stderr)
        print(say("run.failed_after", label=label, seconds=number(round(seconds)), log=log), file=sys.stderr)
        if not keep_going:
            return 1
        failed.append(label)
    if failed:
        print(say("run.failed_quarters", labels=", ".join(failed)), file=sys.stderr)
    return 1 if failed else 0


def cmd_backfill(args) -> int:
    from pipeline.cli.preflight import check_run, known_quarter, unsigned
    from pipeline.lib.provinces import place
    from pipeline.orchestration.partitions import parse_quarter, quarter_keys

    first, last = known_quarter(args.first), known_quarter(args.last)
    if parse_quarter(first) > parse_quarter(last):
        raise UserError(say("run.first_after_last", first=first, last=last))
    planned = []
    for province in _provinces(args):
        where = place(province)
        quarters = check_run([q for q in quarter_keys(last) if parse_quarter(q) >= parse_quarter(first)], where)
        planned += [(where, quarter) for quarter in unsigned(quarters, str(where.warehouse))]
    return _materialize_all(planned, keep_going=True)


def cmd_explain(args) -> int:
    from pipeline.cli.explain import explain

    where = _place(args)
    text, rows = explain(str(where.warehouse), str(where.raw_dir), args.quarter, args.indicator_id, args.version)
    print(text)
    if not rows.empty:
        print(say("explain.rows_per_file"))
        for (table, file), count in rows.groupby(["staging_table", "file"]).size().items():
            print(say("explain.rows_of_file", file=file, count=number(count), table=table))
    if args.rows:
        _write_rows(rows, args.rows)
    return 0


def _write_rows(rows, target: Path) -> None:
    from pipeline.cli.explain import write_rows

    if target.suffix.lower() not in (".csv", ".xlsx"):
        raise UserError(say("rows.needs_xlsx_or_csv", target=target))
    try:
        write_rows(rows, target)
    except OSError as exc:
        raise UserError(say("rows.cannot_write", target=target, reason=exc.strerror or exc)) from None
    print(say("rows.written", count=number(len(rows)), target=target))


def cmd_history(args) -> int:
    from pipeline.cli.history import history

    where = _place(args)
    if args.rows and not args.diff:
        raise UserError(say("history.rows_needs_diff"))
    if args.diff:
        from pipeline.cli.history import version_diff

        text, rows = version_diff(str(where.warehouse), args.quarter, *args.diff)
        print(text)
        if args.rows:
            _write_rows(rows, args.rows)
        return 0
    print(history(str(where.warehouse), str(where.outputs_dir), args.quarter, args.latest))
    return 0


def cmd_sign(args) -> int:
    from pipeline.cli.sign import sign

    where = _place(args)
    print(sign(str(where.warehouse), str(where.outputs_dir), args.quarter, args.by, args.note, args.accept_errors))
    return 0


def cmd_sql(args) -> int:
    from pipeline.cli.sql import interactive, run_query

    where = _place(args)
    if args.version and not args.quarter:
        raise UserError(say("sql.version_needs_quarter"))
    if args.query is None:
        return interactive(str(where.warehouse), args.quarter, args.version)
    run_query(str(where.warehouse), args.query, sys.stdout, args.quarter, args.version)
    return 0


def cmd_upgrade(args) -> int:
    from pipeline.cli.upgrade import upgrade
    from pipeline.lib.provinces import warehouse_path

    print(upgrade(Path(warehouse_path())))
    return 0


def cmd_check(args) -> int:
    from pipeline.cli.check import check

    where = _place(args)
    if not args.paths and not args.province:
        raise UserError(say("check.needs_paths"))
    return check(args.paths or [str(where.raw_dir)])


def cmd_users(args) -> int:
    from pipeline.cli.serve import add_user, read_password

    path = add_user(args.name, read_password())
    print(say("serve.user_added", name=args.name, path=path))
    return 0


def cmd_serve(args) -> int:
    from pipeline.cli.serve import serve

    return serve(args.listen, args.port, args.webserver_port)


def cmd_release(args) -> int:
    import dagster as dg

    from pipeline.orchestration.maintenance import release_stale_runs

    for run in release_stale_runs(dg.DagsterInstance.get()):
        print(say("maintenance.released", run_id=run.run_id, pids=run.pids))
    return 0


def _latest_quarter() -> str:
    from pipeline.orchestration.partitions import quarters_with_exports

    raw_dir = _place(argparse.Namespace()).raw_dir
    quarters = quarters_with_exports(raw_dir)
    if not quarters:
        raise UserError(say("run.no_quarter_folder", raw_dir=raw_dir))
    return quarters[-1]


def cmd_latest(args) -> int:
    print(_latest_quarter())
    return 0


def parser() -> argparse.ArgumentParser:
    from pipeline.lib.provinces import landing_zone  # light: no Dagster, no DuckDB

    main = argparse.ArgumentParser(prog="python -m pipeline", description="Trà Vinh quarterly report pipeline.")
    commands = main.add_subparsers(dest="command", required=True, metavar="COMMAND")
    one = argparse.ArgumentParser(add_help=False)
    one.add_argument("--province", metavar="NAME", help="the province (its profile pipeline/profile/NAME.toml); "
                     "default: the default province")
    every = argparse.ArgumentParser(add_help=False)
    every.add_argument("--province", metavar="NAME", help="only this province (default: every configured province)")
    sample = commands.add_parser("sample", help="write the deterministic sample exports (2020-Q1, 2020-Q2)")
    sample.add_argument("--out", default=str(landing_zone()), help="raw root (default: $RAW_DIR or raw/)")
    sample.add_argument("--seed", type=int, default=None)
    sample.add_argument("--variant", default=None, help="write every export as one rule of the export spec allows "
                        "(ids: pipeline/sample/variants.py), to try the pipeline on it")
    sample.add_argument("--only", metavar="SOURCE", help="with --variant: only the files of this source folder "
                        "(e.g. --variant legacy-tcvn3-xls --only mail: the mailbox list typed in TCVN3)")
    sample.set_defaults(handler=cmd_sample)
    run = commands.add_parser("run", parents=[every], help="check, then materialize QUARTER (default: every quarter folder without figures "
                              "yet, oldest first, then the newest), and summarize each run")
    run.add_argument("quarter", nargs="?")
    run.add_argument("--amend", metavar="REASON", help="re-run a signed quarter as an amendment: a new version "
                     "linked to the signed one, with this reason (it is signed only when signed again)")
    run.set_defaults(handler=cmd_run)
    backfill = commands.add_parser("backfill", parents=[every], help="materialize every quarter from FIRST to LAST, one run each")
    backfill.add_argument("first")
    backfill.add_argument("last")
    backfill.set_defaults(handler=cmd_backfill)
    explain = commands.add_parser("explain", parents=[one], help="how a figure was computed, down to the raw rows")
    explain.add_argument("quarter")
    explain.add_argument("indicator_id")
    explain.add_argument("--rows", type=Path, help="write the contributing rows to FILE.xlsx or FILE.csv")
    explain.add_argument("--version", help="a published version of the quarter (its number, or `signed`), read from "
                         "the versioned warehouse and the archive")
    explain.set_defaults(handler=cmd_explain)
    history = commands.add_parser("history", parents=[one], help="the versions of a quarter's figures and what changed between them")
    history.add_argument("quarter")
    history.add_argument("--latest", action="store_true", help="only the latest version and its changes")
    history.add_argument("--diff", nargs=2, metavar=("A", "B"), help="between published versions A and B (numbers or "
                         "`signed`): for each figure that changed, the rows added and removed and the files behind them")
    history.add_argument("--rows", type=Path, help="with --diff: write every row added or removed to FILE.xlsx or FILE.csv")
    history.set_defaults(handler=cmd_history)
    sign = commands.add_parser("sign", parents=[one], help="sign the quarter's current version: record who and when, keep its annex "
                               "and draft, and lock the quarter")
    sign.add_argument("quarter")
    sign.add_argument("--by", required=True, metavar="NAME", help="who signs")
    sign.add_argument("--note", help="a note kept with the sign-off")
    sign.add_argument("--accept-errors", action="store_true", help="sign although the version has ERROR findings "
                      "(recorded with the sign-off)")
    sign.set_defaults(handler=cmd_sign)
    sql = commands.add_parser("sql", parents=[one], help="one read-only query on the versioned warehouse, printed as CSV "
                              "(without QUERY: a read-only shell)")
    sql.add_argument("query", nargs="?")
    sql.add_argument("--quarter", help="the quarter whose --version is meant")
    sql.add_argument("--version", help="read the warehouse as this published version of --quarter left it "
                     "(its number, or `signed`)")
    sql.set_defaults(handler=cmd_sql)
    check = commands.add_parser("check", parents=[one], help="what the pipeline would make of files (or folders) before "
                                "they go into raw/")
    check.add_argument("paths", nargs="*", metavar="PATH", help="files or folders (default with --province: its landing zone)")
    check.set_defaults(handler=cmd_check)
    commands.add_parser("upgrade-warehouse", help="rewrite a warehouse of the code before the versioned warehouse "
                        "(DuckDB 2.0) for this DuckDB, every table and version kept").set_defaults(handler=cmd_upgrade)
    commands.add_parser("latest-quarter", help="print the newest quarter folder under $RAW_DIR").set_defaults(handler=cmd_latest)
    users = commands.add_parser("users", help="the users of the UI's login (production profile)")
    users_commands = users.add_subparsers(dest="action", required=True, metavar="ACTION")
    add = users_commands.add_parser("add", help="add or replace a user; the password is read from standard input")
    add.add_argument("name")
    add.set_defaults(handler=cmd_users)
    serve = commands.add_parser("serve", help="the production profile: dagster-daemon, dagster-webserver (127.0.0.1 "
                                "only) and the nginx login in front of it, under one supervisor")
    serve.add_argument("--listen", default="127.0.0.1", help="the address the login listens on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8443, help="its HTTPS port (default 8443)")
    serve.add_argument("--webserver-port", type=int, default=3000, help="the webserver's port on 127.0.0.1 (default 3000)")
    serve.set_defaults(handler=cmd_serve)
    commands.add_parser("release-stale-runs", help="fail runs whose process died and free their pool slots"
                        ).set_defaults(handler=cmd_release)
    return main


def main(argv: list[str] | None = None) -> int:
    from pipeline.cli.check import CheckError
    from pipeline.cli.explain import ExplainError
    from pipeline.cli.history import HistoryError
    from pipeline.cli.preflight import PreflightError
    from pipeline.cli.serve import ServeError
    from pipeline.cli.sign import SignError
    from pipeline.cli.sql import SqlError
    from pipeline.cli.upgrade import UpgradeError
    from pipeline.lib.isolation import LimitsError
    from pipeline.lib.lake import LakeError
    from pipeline.lib.provinces import ProvinceError

    args = parser().parse_args(argv)
    try:
        return args.handler(args)
    except (UserError, CheckError, ExplainError, HistoryError, LimitsError, PreflightError, LakeError, SignError,
            SqlError, UpgradeError, ProvinceError, ServeError) as exc:
        print(say("cli.error", reason=exc), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(say("cli.interrupted"), file=sys.stderr)
        return 130
    except BrokenPipeError:  # the output was piped into `head`: not a failure
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as exc:
        report = Path(tempfile.gettempdir()) / f"pipeline-error-{dt.datetime.now():%Y%m%d-%H%M%S}.txt"
        report.write_text(traceback.format_exc(), encoding="utf-8")
        print(say("cli.unexpected", command=args.command, kind=type(exc).__name__, detail=exc, report=report), file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
