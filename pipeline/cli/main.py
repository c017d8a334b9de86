"""Command line of the pipeline (`python -m pipeline COMMAND`; `--help` lists the commands).

Bad input (a quarter that does not exist, a missing landing zone, an unusable warehouse, an unknown
indicator, a bad setting) is one line on stderr and exit status 2; an unexpected failure is one line
naming the file that holds its details, and exit status 1. Never a bare traceback.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
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


class _Formatter(argparse.HelpFormatter):
    """argparse's help with the catalog's words for its usage line and its two sections."""

    def add_usage(self, usage, actions, groups, prefix=None):
        return super().add_usage(usage, actions, groups, say("help.usage") if prefix is None else prefix)

    def start_section(self, heading):
        return super().start_section({"positional arguments": say("help.positionals"),
                                      "options": say("help.options")}.get(heading, heading))


class Parser(argparse.ArgumentParser):
    """argparse, speaking Vietnamese: help from the catalog's `[help]`, and its own refusals (a missing argument,
    an unknown option) worded from `[usage]` as one `lỗi: …` line after the usage, exit status 2."""

    REFUSALS = (  # argparse's English messages (Python 3.11), each worded again from the catalog
        (r"the following arguments are required: (?P<names>.+)", lambda m: say("usage.required", names=m["names"])),
        (r"unrecognized arguments: (?P<names>.+)", lambda m: say("usage.unrecognized", names=m["names"])),
        (r"argument (?P<name>\S+): invalid choice: (?P<value>.+?) \(choose from (?P<choices>.+)\)",
         lambda m: say("usage.invalid_choice", name=m["name"], value=m["value"], choices=m["choices"])),
        (r"argument (?P<name>\S+): invalid \S+ value: (?P<value>.+)",
         lambda m: say("usage.invalid_value", name=m["name"], value=m["value"])),
        (r"argument (?P<name>\S+): expected one argument", lambda m: say("usage.expects_one", name=m["name"])),
        (r"argument (?P<name>\S+): expected (?P<count>\d+) arguments?",
         lambda m: say("usage.expects_more", name=m["name"], count=m["count"])),
        (r"ambiguous option: (?P<option>\S+) could match (?P<matches>.+)",
         lambda m: say("usage.ambiguous", option=m["option"], matches=m["matches"])),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs, formatter_class=_Formatter, add_help=False)
        self.add_argument("-h", "--help", action="help", default=argparse.SUPPRESS, help=say("help.help"))

    def error(self, message: str):
        for pattern, worded in self.REFUSALS:
            found = re.fullmatch(pattern, message)
            if found:
                message = worded(found)
                break
        self.print_usage(sys.stderr)
        self.exit(2, say("cli.error", reason=message) + "\n")


def parser() -> argparse.ArgumentParser:
    from pipeline.lib.provinces import landing_zone  # light: no Dagster, no DuckDB

    main = Parser(prog="python -m pipeline", description=say("help.description"))
    commands = main.add_subparsers(dest="command", required=True, metavar="LỆNH")
    def province(command: argparse.ArgumentParser, every: bool = False) -> argparse.ArgumentParser:
        command.add_argument("--province", metavar="TÊN", help=say("help.province_every" if every else "help.province_one"))
        return command

    sample = commands.add_parser("sample", help=say("help.sample"))
    sample.add_argument("--out", metavar="THƯ_MỤC", default=str(landing_zone()), help=say("help.sample_out"))
    sample.add_argument("--seed", metavar="SỐ", type=int, default=None, help=say("help.sample_seed"))
    sample.add_argument("--variant", metavar="MÃ", default=None, help=say("help.sample_variant"))
    sample.add_argument("--only", metavar="NGUỒN", help=say("help.sample_only"))
    sample.set_defaults(handler=cmd_sample)
    run = province(commands.add_parser("run", help=say("help.run")), every=True)
    run.add_argument("quarter", nargs="?", metavar="QUÝ", help=say("help.run_quarter"))
    run.add_argument("--amend", metavar="LÝ_DO", help=say("help.run_amend"))
    run.set_defaults(handler=cmd_run)
    backfill = province(commands.add_parser("backfill", help=say("help.backfill")), every=True)
    backfill.add_argument("first", metavar="ĐẦU", help=say("help.backfill_first"))
    backfill.add_argument("last", metavar="CUỐI", help=say("help.backfill_last"))
    backfill.set_defaults(handler=cmd_backfill)
    explain = province(commands.add_parser("explain", help=say("help.explain")))
    explain.add_argument("quarter", metavar="QUÝ", help=say("help.explain_quarter"))
    explain.add_argument("indicator_id", metavar="CHỈ_TIÊU", help=say("help.explain_indicator"))
    explain.add_argument("--rows", metavar="TỆP", type=Path, help=say("help.explain_rows"))
    explain.add_argument("--version", metavar="PHIÊN_BẢN", help=say("help.explain_version"))
    explain.set_defaults(handler=cmd_explain)
    history = province(commands.add_parser("history", help=say("help.history")))
    history.add_argument("quarter", metavar="QUÝ", help=say("help.history_quarter"))
    history.add_argument("--latest", action="store_true", help=say("help.history_latest"))
    history.add_argument("--diff", nargs=2, metavar=("A", "B"), help=say("help.history_diff"))
    history.add_argument("--rows", metavar="TỆP", type=Path, help=say("help.history_rows"))
    history.set_defaults(handler=cmd_history)
    sign = province(commands.add_parser("sign", help=say("help.sign")))
    sign.add_argument("quarter", metavar="QUÝ", help=say("help.sign_quarter"))
    sign.add_argument("--by", required=True, metavar="TÊN", help=say("help.sign_by"))
    sign.add_argument("--note", metavar="GHI_CHÚ", help=say("help.sign_note"))
    sign.add_argument("--accept-errors", action="store_true", help=say("help.sign_accept_errors"))
    sign.set_defaults(handler=cmd_sign)
    sql = province(commands.add_parser("sql", help=say("help.sql")))
    sql.add_argument("query", nargs="?", metavar="TRUY_VẤN", help=say("help.sql_query"))
    sql.add_argument("--quarter", metavar="QUÝ", help=say("help.sql_quarter"))
    sql.add_argument("--version", metavar="PHIÊN_BẢN", help=say("help.sql_version"))
    sql.set_defaults(handler=cmd_sql)
    check = province(commands.add_parser("check", help=say("help.check")))
    check.add_argument("paths", nargs="*", metavar="ĐƯỜNG_DẪN", help=say("help.check_paths"))
    check.set_defaults(handler=cmd_check)
    commands.add_parser("upgrade-warehouse", help=say("help.upgrade")).set_defaults(handler=cmd_upgrade)
    commands.add_parser("latest-quarter", help=say("help.latest")).set_defaults(handler=cmd_latest)
    users = commands.add_parser("users", help=say("help.users"))
    users_commands = users.add_subparsers(dest="action", required=True, metavar="VIỆC")
    add = users_commands.add_parser("add", help=say("help.users_add"))
    add.add_argument("name", metavar="TÊN", help=say("help.users_name"))
    add.set_defaults(handler=cmd_users)
    serve = commands.add_parser("serve", help=say("help.serve"))
    serve.add_argument("--listen", metavar="ĐỊA_CHỈ", default="127.0.0.1", help=say("help.serve_listen"))
    serve.add_argument("--port", metavar="CỔNG", type=int, default=8443, help=say("help.serve_port"))
    serve.add_argument("--webserver-port", metavar="CỔNG", type=int, default=3000, help=say("help.serve_webserver_port"))
    serve.set_defaults(handler=cmd_serve)
    commands.add_parser("release-stale-runs", help=say("help.release")).set_defaults(handler=cmd_release)
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
