"""Benchmark of the PSM portal at scale on PostgreSQL. See bench/README.md.

    .venv/bin/python bench/run.py                      # full scale (about three minutes)
    .venv/bin/python bench/run.py --partners 200 --projects 2000 --lines 20000 --import-rows 5000

It creates its own database (`psm_bench` by default), migrates it, builds a programme, measures
(1) the highlights rollup against a hand-written SQL aggregate, (2) `import_data investments` of a
CSV file and its re-import, (3) the peak memory of each, prints a table, writes bench/out/*.json
and drops the database. This parent process never imports Django: every step runs in a child
process pointed at the bench database through DATABASE_URL, and the child's peak resident set
size is read from os.wait4() (the kernel's ru_maxrss for that one child).
"""

import argparse
import csv
import datetime
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"

RATIO_TARGET = 1.5
IMPORT_TARGET = 2000  # rows per second


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    scale = parser.add_argument_group("scale")
    scale.add_argument("--partners", type=int, default=2000)
    scale.add_argument("--projects", type=int, default=20000)
    scale.add_argument("--lines", type=int, default=1_000_000, help="investment lines built")
    scale.add_argument("--import-rows", type=int, default=100_000, help="rows of the CSV imported")
    scale.add_argument("--periods", type=int, default=5, help="fiscal years per programme")
    scale.add_argument("--first-year", type=int, default=2019)
    scale.add_argument("--seed", type=int, default=2019)
    measure = parser.add_argument_group("measures")
    measure.add_argument(
        "--period", help="period measured by the rollup (default: the second-to-last one)"
    )
    measure.add_argument(
        "--import-period", help="period of the imported lines (default: the latest one)"
    )
    measure.add_argument("--runs", type=int, default=5, help="timed runs of the rollup and SQL")
    measure.add_argument(
        "--requests", type=int, default=50, help="timed requests of each page (after one warm-up)"
    )
    measure.add_argument(
        "--profile-export",
        action="store_true",
        help="also run the smaller CSV export under cProfile (bench/out/export-profile.txt)",
    )
    measure.add_argument(
        "--no-xlsx-cumulative",
        action="store_true",
        help="skip the XLSX export of the cumulative drill-down (the slowest export)",
    )
    measure.add_argument(
        "--profile-rows",
        type=int,
        default=0,
        help="also import a further file of N rows under cProfile (bench/out/import.prof)",
    )
    db = parser.add_argument_group("database")
    db.add_argument(
        "--server",
        default=os.environ.get("BENCH_POSTGRES", "postgres://postgres@127.0.0.1:5432"),
        help="PostgreSQL server URL without a database (env BENCH_POSTGRES)",
    )
    db.add_argument("--db-name", default="psm_bench", help="database created, then dropped")
    db.add_argument(
        "--keep",
        action="store_true",
        help="keep the database and the CSV files afterwards (to experiment by hand)",
    )
    parser.add_argument(
        "--only",
        choices=["rollup", "import", "pages"],
        help="measure only the rollup, the import, or the pages and drill-down exports",
    )
    parser.add_argument("--step", help=argparse.SUPPRESS)  # internal: run one step (child)
    parser.add_argument("--params", help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if "bench" not in args.db_name:
        parser.error("--db-name must contain 'bench' (the bench drops it)")
    if args.periods < 2:
        parser.error("--periods must be at least 2")
    return args


# --- the database ---------------------------------------------------------------------------------


def database_url(server, name):
    parts = urlsplit(server)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, ""))


def refuse_development_database(url):
    """The development (or any configured) database is never the one we drop."""
    configured = os.environ.get("DATABASE_URL")
    if configured and urlsplit(configured).path == urlsplit(url).path:
        raise SystemExit(f"bench: DATABASE_URL names the bench database {url}: refusing")


def admin(server, *statements):
    import psycopg

    with psycopg.connect(database_url(server, "postgres"), autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)


def create_database(server, name):
    admin(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"')


def drop_database(server, name):
    admin(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# --- children -------------------------------------------------------------------------------------


def child_env(url):
    env = dict(os.environ)
    env.update(
        {
            "DATABASE_URL": url,
            "DJANGO_SETTINGS_MODULE": "psm.settings",
            # As in production: no query log, no debug wrappers.
            "DEBUG": "false",
            "SECRET_KEY": "bench-only-not-a-secret-" + "x" * 40,
            "PYTHONPATH": str(ROOT),
            # The pages are requested through django.test.Client, whose host is "testserver".
            "ALLOWED_HOSTS": "testserver",
        }
    )
    return env


def run_step(name, params, url, workdir):
    """Run one step in a child process; return (its result, its peak RSS in MiB, wall seconds)."""
    params_path = Path(workdir) / f"{name}.params.json"
    result_path = Path(workdir) / f"{name}.result.json"
    params_path.write_text(json.dumps(params))
    started = time.perf_counter()
    process = subprocess.Popen(
        [
            sys.executable,
            str(Path(__file__).resolve()),
            "--step",
            name,
            "--params",
            str(params_path),
            "--result",
            str(result_path),
        ],
        cwd=ROOT,
        env=child_env(url),
    )
    _pid, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - started
    if process.returncode != 0:
        raise SystemExit(f"bench: step {name} failed (exit {process.returncode})")
    result = json.loads(result_path.read_text())
    return result, usage.ru_maxrss / 1024, wall  # ru_maxrss is in KiB on Linux


def child_main(args):
    import django

    sys.path.insert(0, str(ROOT))
    django.setup()
    from bench.steps import STEPS

    params = json.loads(Path(args.params).read_text())
    result = STEPS[args.step](params)
    Path(args.result).write_text(json.dumps(result, default=str))


# --- the run --------------------------------------------------------------------------------------


def say(message):
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


def main(args):
    started = time.perf_counter()
    url = database_url(args.server, args.db_name)
    refuse_development_database(url)
    labels = [f"{y}-{y + 1}" for y in range(args.first_year, args.first_year + args.periods)]
    opts = {
        "partners": args.partners,
        "projects": args.projects,
        "lines": args.lines,
        "import_rows": args.import_rows,
        "periods": args.periods,
        "first_year": args.first_year,
        "seed": args.seed,
        "import_period": args.import_period or labels[-1],
    }
    OUT.mkdir(parents=True, exist_ok=True)
    report = {
        "when": datetime.datetime.now().isoformat(timespec="seconds"),
        "database": url,
        "scale": opts,
        "memory_method": "peak RSS (ru_maxrss) of the step's child process, from os.wait4()",
        # Other work on the machine skews every time: the load average says whether there was any.
        "load_average_at_start": os.getloadavg(),
        "cpus": os.cpu_count(),
    }
    say(f"database {url}: drop if it exists, create")
    create_database(args.server, args.db_name)
    work = Path(tempfile.mkdtemp(prefix="psm-bench-"))
    try:
        files = {
            "import": work / "investments.csv",
            "rollback": work / "investments-bad.csv",
            "profile": work / "investments-profile.csv",
        }
        build_data(args, opts, url, work, files, report)
        period = args.period or labels[-2]
        if args.only in (None, "rollup"):
            measure_rollup(args, period, url, work, report)
        # The pages before the import: they are measured on the lines built (1 000 000 by default).
        if args.only in (None, "pages"):
            measure_pages(args, period, url, work, report)
        if args.only in (None, "import"):
            measure_import(args, url, work, files, report)
    finally:
        if args.keep:
            say(f"database {url} and files {work} kept (--keep)")
        else:
            shutil.rmtree(work, ignore_errors=True)
            drop_database(args.server, args.db_name)
            say(f"database {url} dropped")

    report["total_seconds"] = time.perf_counter() - started
    report["load_average_at_end"] = os.getloadavg()
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    for name in (f"bench-{stamp}.json", "latest.json"):
        (OUT / name).write_text(json.dumps(report, indent=2, default=str) + "\n")
    print_table(report)
    print(f"\nJSON: {OUT / ('bench-' + stamp + '.json')}")
    checks = [report["rollup"]["same_numbers"]] if "rollup" in report else []
    checks += [report[k]["ok"] for k in ("rollback_check", "import", "reimport") if k in report]
    if "pages" in report:
        checks += [page["status"] == 200 for page in report["pages"].values()]
        checks += [export["ok"] for export in report["exports"]]
    return 0 if all(checks) else 1


def build_data(args, opts, url, work, files, report):
    """Migrate and fill the database, write the CSV files (not measured)."""
    extra = [[str(files["rollback"]), min(1000, args.import_rows)]]
    if args.profile_rows:
        extra.append([str(files["profile"]), args.profile_rows])
    say("migrate")
    migrate, _rss, _wall = run_step("migrate", {}, url, work)
    say(f"migrated in {migrate['seconds']:.1f} s; building the data (not measured)")
    build, _rss, _wall = run_step(
        "build", {"opts": opts, "csv": str(files["import"]), "extra_csvs": extra}, url, work
    )
    report["build"] = build
    say(
        f"built in {build['seconds']:.0f} s: {build['investment_lines']} lines, "
        f"{build['reports']} reports"
    )
    _result, baseline_rss, _wall = run_step("baseline", {}, url, work)
    report["baseline_rss_mib"] = baseline_rss


def measure_rollup(args, period, url, work, report):
    say(f"(1) rollup of {period}: {args.runs} runs, against the SQL aggregate")
    rollup, rss, _wall = run_step(
        "rollup",
        {"programme": report["build"]["programme"], "period": period, "runs": args.runs},
        url,
        work,
    )
    rollup["peak_rss_mib"] = rss
    report["rollup"] = rollup


def measure_import(args, url, work, files, report):
    # All or nothing: a small file whose last row is bad must write nothing.
    with files["rollback"].open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    rows[-1][3] = "abc"  # the amount
    with files["rollback"].open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)
    say(f"all-or-nothing check: {len(rows) - 1} rows, the last one bad")
    rollback, _rss, _wall = run_step("import", {"csv": str(files["rollback"])}, url, work)
    rollback["ok"] = (
        rollback["error_count"] >= 1
        and rollback["lines_written"] == 0
        and rollback["history_written"] == 0
    )
    report["rollback_check"] = rollback

    say(f"(2) import_data investments: {args.import_rows} rows")
    imported, rss, _wall = run_step("import", {"csv": str(files["import"])}, url, work)
    imported["peak_rss_mib"] = rss
    imported["ok"] = (
        imported["error_count"] == 0
        and imported["new"] == args.import_rows
        and imported["lines_written"] == args.import_rows
        and imported["history_written"] == args.import_rows
    )
    report["import"] = imported

    say("(2) re-import of the same file")
    again, rss, _wall = run_step("import", {"csv": str(files["import"])}, url, work)
    again["peak_rss_mib"] = rss
    again["ok"] = (
        again["error_count"] == 0
        and again["new"] == 0
        and again["updated"] == 0
        and again["unchanged"] == args.import_rows
        and again["lines_written"] == 0
        and again["history_written"] == 0
    )
    report["reimport"] = again

    if args.profile_rows:
        say(f"profile: import of {args.profile_rows} further rows under cProfile")
        profiled, _rss, _wall = run_step(
            "import",
            {"csv": str(files["profile"]), "profile": str(OUT / "import.prof")},
            url,
            work,
        )
        (OUT / "import-profile.txt").write_text(
            profiled.pop("profile_tottime") + "\n" + profiled.pop("profile_cumulative")
        )
        report["profile"] = profiled


def measure_pages(args, period, url, work, report):
    """(4) the one-pager and the programme page (public and staff), then the drill-down exports."""
    programme = report["build"]["programme"]
    static_root = work / "static"
    say(f"(4) pages: users, collectstatic, publish the published periods and {period}")
    setup, _rss, _wall = run_step(
        "pages_setup",
        {"programme": programme, "period": period, "static_root": str(static_root)},
        url,
        work,
    )
    report["pages_setup"] = setup
    say(
        "published "
        + ", ".join(f"{p['period']} ({p['seconds']:.1f} s)" for p in setup["published"])
    )
    common = {"programme": programme, "static_root": str(static_root)}
    say(f"(4) pages of {period}: {args.requests} requests each after one warm-up")
    pages, rss, _wall = run_step(
        "pages", {**common, "period": period, "requests": args.requests}, url, work
    )
    report["pages"] = pages
    report["pages_peak_rss_mib"] = rss

    # The exports: the measured period's investment lines (CSV and XLSX), its cumulative lines (the
    # largest drill-down), and a period with about a quarter of the lines (CSV memory is flat).
    sizes = setup["drilldown_rows"]
    measured = sizes[period]["investments"]
    smaller = min(
        (label for label in sizes if label != period),
        key=lambda label: abs(sizes[label]["investments"] - measured / 4),
    )
    plan = [
        ("csv", smaller, "investments"),
        ("csv", period, "investments"),
        ("csv", period, "cumulative_investments"),
        ("xlsx", period, "investments"),
    ]
    if not args.no_xlsx_cumulative:
        plan.append(("xlsx", period, "cumulative_investments"))
    report["exports"] = []
    for fmt, label, figure in plan:
        rows = sizes[label][figure]
        say(f"(5) drill-down export {fmt.upper()}: {figure} of {label} ({rows} rows)")
        out = work / f"{figure}-{label}.{fmt}"
        export, rss, wall = run_step(
            "export",
            {**common, "period": label, "figure": figure, "format": fmt, "out": str(out)},
            url,
            work,
        )
        export.update(
            {"format": fmt, "period": label, "figure": figure, "peak_rss_mib": rss, "wall": wall}
        )
        export.update(check_export(out, fmt))
        export["ok"] = (
            export["status"] == 200
            and export["rows"] == export["expected_rows"]
            and export["amount"] == export["expected_amount"]
            and export["streaming"] == (fmt == "csv")
        )
        out.unlink(missing_ok=True)
        report["exports"].append(export)

    if args.profile_export:
        say(f"profile: CSV export of investments of {smaller} under cProfile")
        out = work / "profiled.csv"
        profiled, _rss, _wall = run_step(
            "export",
            {
                **common,
                "period": smaller,
                "figure": "investments",
                "format": "csv",
                "out": str(out),
                "profile": str(OUT / "export.prof"),
            },
            url,
            work,
        )
        out.unlink(missing_ok=True)
        (OUT / "export-profile.txt").write_text(
            profiled.pop("profile_tottime") + "\n" + profiled.pop("profile_cumulative")
        )
        report["export_profile"] = profiled


def check_export(path, fmt):
    """Rows and the sum of the amount column of an exported file (read back in the parent, so the
    check costs the measured child nothing)."""
    from decimal import Decimal

    def read_back(values):
        header = next(values)
        column = next(i for i, name in enumerate(header) if str(name).startswith("Montant"))
        amounts = [Decimal(str(row[column])) for row in values]  # a few MiB: the parent's
        rows, total = len(amounts), sum(amounts, Decimal(0))
        return {"rows": rows, "amount": str(total.quantize(Decimal("0.01"))), "header": header}

    if fmt == "csv":
        with open(path, newline="", encoding="utf-8") as handle:
            return read_back(csv.reader(handle))
    from openpyxl import load_workbook

    workbook = load_workbook(path, read_only=True)
    try:
        return read_back(workbook.worksheets[0].iter_rows(values_only=True))
    finally:
        workbook.close()


def verdict(ok):
    return "ok" if ok else "MISSED"


def print_table(report):
    b, base = report["build"], report["baseline_rss_mib"]
    rows = [
        (
            "data",
            f"{b['partners']} partners, {b['projects']} projects, {b['reports']} reports, "
            f"{b['investment_lines']} investment lines (built in {b['seconds']:.0f} s)",
            "",
        )
    ]
    r = report.get("rollup")
    if r:
        rows += [
            (
                "(1) rollup compute()",
                f"{r['rollup_median'] * 1000:.1f} ms median of {r['runs']} ({r['period']}: "
                f"{r['rows_period']} lines counted, {r['rows_cumulative']} in the cumulative)",
                "",
            ),
            ("    SQL aggregate", f"{r['sql_median'] * 1000:.1f} ms median of {r['runs']}", ""),
            (
                "    ratio rollup / SQL",
                f"{r['ratio']:.2f} (target <= {RATIO_TARGET})",
                verdict(r["ratio"] <= RATIO_TARGET),
            ),
            (
                "    SQL incl. cumulative",
                f"{r['sql_cumulative_median'] * 1000:.1f} ms median; rollup / it = "
                f"{r['ratio_to_cumulative_sql']:.2f}",
                "",
            ),
            (
                "    same numbers",
                f"investment {r['checks']['partner_investment'][0]}, "
                f"SME/research {r['checks']['sme_research_spending'][0]}, "
                f"cumulative {r['checks']['cumulative_partner_investment'][0]}",
                verdict(r["same_numbers"]),
            ),
        ]
    i, a, rb = report.get("import"), report.get("reimport"), report.get("rollback_check")
    if i:
        rows += [
            (
                "(2) import 'investments'",
                f"{i['rows']} rows in {i['seconds']:.1f} s = {i['rows_per_second']:.0f} rows/s "
                f"(target >= {IMPORT_TARGET})",
                verdict(i["rows_per_second"] >= IMPORT_TARGET),
            ),
            (
                "    written",
                f"{i['new']} new; {i['lines_written']} lines, {i['history_written']} history rows",
                verdict(i["ok"]),
            ),
            (
                "    re-import (no-op)",
                f"{a['seconds']:.1f} s = {a['rows_per_second']:.0f} rows/s; {a['new']} new, "
                f"{a['updated']} updated, {a['unchanged']} unchanged",
                verdict(a["ok"]),
            ),
            (
                "    all or nothing",
                f"{rb['rows']} rows, last one bad: {rb['error_count']} error(s), "
                f"{rb['lines_written']} lines and {rb['history_written']} history rows written",
                verdict(rb["ok"]),
            ),
        ]
    pages = report.get("pages")
    if pages:
        names = {
            "one_pager_public": "(4) one-pager, public",
            "one_pager_staff_live": "    one-pager, staff live",
            "programme_public": "    programme page, public",
            "programme_staff": "    programme page, staff",
            "drilldown_page_staff": "    drill-down page (investments)",
        }
        for key, name in names.items():
            page = pages.get(key)
            if page is None:
                continue
            rows.append(
                (
                    name,
                    f"{page['median'] * 1000:.1f} ms median, p95 {page['p95'] * 1000:.1f} ms "
                    f"({page['requests']} requests); {page['queries']} queries "
                    f"({page['query_seconds'] * 1000:.1f} ms in SQL); {page['bytes']} bytes",
                    verdict(page["status"] == 200),
                )
            )
    for e in report.get("exports", []):
        rss = e["peak_rss_mib"]
        rows.append(
            (
                f"(5) {e['format'].upper()} {e['figure']} {e['period']}",
                f"{e['rows']} rows, {e['bytes'] / 2**20:.1f} MiB in {e['seconds']:.1f} s "
                f"({e['rows'] / e['seconds']:.0f} rows/s, first byte {e['first_byte_seconds']:.2f} s, "
                f"{e['queries']} queries); peak RSS {rss:.0f} MiB (+{rss - base:.0f})",
                verdict(e["ok"]),
            )
        )
    rows.append(("(3) peak RSS: baseline", f"{base:.0f} MiB (django.setup() + one query)", ""))
    for name, part in (("rollup", r), ("import", i), ("re-import", a)):
        if part:
            rss = part["peak_rss_mib"]
            rows.append((f"    {name} step", f"{rss:.0f} MiB (+{rss - base:.0f})", ""))
    if pages:
        rss = report["pages_peak_rss_mib"]
        rows.append(("    pages step", f"{rss:.0f} MiB (+{rss - base:.0f})", ""))
    p = report.get("profile")
    if p:
        rows.append(
            (
                "profiled import",
                f"{p['rows']} rows in {p['seconds']:.1f} s under cProfile: "
                "bench/out/import-profile.txt",
                "",
            )
        )
    if report.get("export_profile"):
        e = report["export_profile"]
        rows.append(
            (
                "profiled export",
                f"CSV of {e['expected_rows']} rows in {e['seconds']:.1f} s under cProfile: "
                "bench/out/export-profile.txt",
                "",
            )
        )
    load = "/".join(f"{x:.1f}" for x in report["load_average_at_end"])
    rows.append(
        (
            "total run time",
            f"{report['total_seconds']:.0f} s (load average at the end {load}, "
            f"{report['cpus']} CPUs)",
            "",
        )
    )
    width = max(len(name) for name, _v, _o in rows)
    print()
    for name, value, outcome in rows:
        print(f"{name:<{width}}  {value}{'  [' + outcome + ']' if outcome else ''}")
    if r:
        print("\nrollup queries (one run):")
        for query in r["rollup_queries"]:
            print(f"  {query['seconds'] * 1000:8.1f} ms  {query['sql'][:90]}")
    if pages:
        for key, page in pages.items():
            print(f"\nslowest queries of one request, {key}:")
            for query in page["slowest_queries"][:3]:
                print(f"  {query['seconds'] * 1000:8.1f} ms  {query['sql'][:90]}")


if __name__ == "__main__":
    arguments = parse_args()
    if arguments.step:
        child_main(arguments)
    else:
        sys.exit(main(arguments))
