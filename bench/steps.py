"""The bench's steps, each run in a child process of run.py (Django set up on the bench database).

Every step takes a dict of parameters and returns a JSON-able dict. Times are wall-clock
(`time.perf_counter`) around the measured call only, not the process start or `django.setup()`.
"""

import cProfile
import io
import pstats
import statistics
import time
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")


def cents(value):
    return Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP)


# --- setup steps ---------------------------------------------------------------------------------


def step_migrate(params):
    from django.core.management import call_command

    started = time.perf_counter()
    call_command("migrate", interactive=False, verbosity=0)
    return {"seconds": time.perf_counter() - started}


def step_build(params):
    import argparse

    from bench.build import build

    opts = argparse.Namespace(**params["opts"])
    started = time.perf_counter()
    summary = build(opts, params["csv"], [tuple(x) for x in params.get("extra_csvs", [])])
    summary["seconds"] = time.perf_counter() - started
    return summary


def step_baseline(params):
    """Django set up and one query: the memory floor of every measured child."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return {}


# --- (1) the rollup against one hand-written SQL aggregate -------------------------------------


def money_sql():
    """partner_investment and sme_research_spending of one period, as DESIGN.md defines them."""
    from portal.models import InvestmentLine, Partner, Project, Report

    return f"""
        SELECT COALESCE(SUM(l.amount), 0),
               COALESCE(SUM(l.amount) FILTER (
                   WHERE l.performer IN ('quebec_sme', 'research_centre')
                      OR (l.performer = 'self'
                          AND (a.kind = 'research_centre' OR (a.kind = 'sme' AND a.quebec)))
               ), 0),
               COUNT(*)
          FROM {InvestmentLine._meta.db_table} l
          JOIN {Report._meta.db_table} r ON r.id = l.report_id
          JOIN {Partner._meta.db_table} a ON a.id = r.partner_id
          JOIN {Project._meta.db_table} p ON p.id = l.project_id
         WHERE r.period_id = %(period)s
           AND r.status = 'approved'
           AND p.programme_id = %(programme)s
    """


def cumulative_sql():
    """The same two sums plus their cumulative twins (every period ending by this one): the whole
    money part of the rollup in one scan, for context."""
    from portal.models import InvestmentLine, Partner, Period, Project, Report

    sme = """l.performer IN ('quebec_sme', 'research_centre')
             OR (l.performer = 'self'
                 AND (a.kind = 'research_centre' OR (a.kind = 'sme' AND a.quebec)))"""
    return f"""
        SELECT COALESCE(SUM(l.amount) FILTER (WHERE r.period_id = %(period)s), 0),
               COALESCE(SUM(l.amount) FILTER (WHERE r.period_id = %(period)s AND ({sme})), 0),
               COALESCE(SUM(l.amount), 0),
               COALESCE(SUM(l.amount) FILTER (WHERE {sme}), 0),
               COUNT(*)
          FROM {InvestmentLine._meta.db_table} l
          JOIN {Report._meta.db_table} r ON r.id = l.report_id
          JOIN {Period._meta.db_table} pe ON pe.id = r.period_id
          JOIN {Partner._meta.db_table} a ON a.id = r.partner_id
          JOIN {Project._meta.db_table} p ON p.id = l.project_id
         WHERE pe.programme_id = %(programme)s
           AND pe."end" <= %(end)s
           AND r.status = 'approved'
           AND p.programme_id = %(programme)s
    """


class QueryTimer:
    """connection.execute_wrapper: the time of each query a call runs."""

    def __init__(self):
        self.queries = []

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.queries.append((sql, params, time.perf_counter() - started))


def step_rollup(params):
    from django.db import connection

    from portal.highlights import compute, find_period

    period = find_period(params["programme"], params["period"])
    args = {"period": period.pk, "programme": period.programme_id, "end": period.end}
    runs = params["runs"]

    def run_sql(sql):
        with connection.cursor() as cursor:
            cursor.execute(sql, args)
            return cursor.fetchone()

    # Warm-up: caches (PostgreSQL's buffers, Django's compiled lookups) as in a running server.
    figures = compute(period)
    sql_row = run_sql(money_sql())
    cumulative_row = run_sql(cumulative_sql())

    rollup_times, sql_times, cumulative_times = [], [], []
    for _ in range(runs):
        started = time.perf_counter()
        compute(period)
        rollup_times.append(time.perf_counter() - started)
        started = time.perf_counter()
        run_sql(money_sql())
        sql_times.append(time.perf_counter() - started)
        started = time.perf_counter()
        run_sql(cumulative_sql())
        cumulative_times.append(time.perf_counter() - started)

    # One more rollup, each of its queries timed (where the time goes).
    timer = QueryTimer()
    with connection.execute_wrapper(timer):
        compute(period)
    breakdown = [
        {"sql": " ".join(sql.split())[:160], "seconds": seconds}
        for sql, _params, seconds in timer.queries
    ]

    slowest_sql, slowest_params, _seconds = max(timer.queries, key=lambda q: q[2])
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + money_sql(), args)
        sql_plan = "\n".join(row[0] for row in cursor.fetchall())
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + slowest_sql, slowest_params)
        rollup_plan = "\n".join(row[0] for row in cursor.fetchall())

    checks = {
        "partner_investment": [str(figures.partner_investment), str(cents(sql_row[0]))],
        "sme_research_spending": [str(figures.sme_research_spending), str(cents(sql_row[1]))],
        "cumulative_partner_investment": [
            str(figures.cumulative_partner_investment),
            str(cents(cumulative_row[2])),
        ],
    }
    same = (
        figures.partner_investment == cents(sql_row[0])
        and figures.sme_research_spending == cents(sql_row[1])
        and cents(cumulative_row[0]) == cents(sql_row[0])
        and cents(cumulative_row[1]) == cents(sql_row[1])
        and figures.cumulative_partner_investment == cents(cumulative_row[2])
    )
    rollup = statistics.median(rollup_times)
    sql = statistics.median(sql_times)
    cumulative = statistics.median(cumulative_times)
    return {
        "period": period.label,
        "runs": runs,
        "rollup_seconds": rollup_times,
        "sql_seconds": sql_times,
        "sql_cumulative_seconds": cumulative_times,
        "rollup_median": rollup,
        "sql_median": sql,
        "sql_cumulative_median": cumulative,
        "ratio": rollup / sql if sql else None,
        "ratio_to_cumulative_sql": rollup / cumulative if cumulative else None,
        "rows_period": sql_row[2],
        "rows_cumulative": cumulative_row[4],
        "figures": figures.as_json(),
        "checks": checks,
        "same_numbers": same,
        "rollup_queries": breakdown,
        "rollup_slowest_query": " ".join(slowest_sql.split()),
        "sql_plan": sql_plan,
        "rollup_slowest_plan": rollup_plan,
    }


# --- (2) import_data investments ----------------------------------------------------------------


def counts():
    from portal.models import InvestmentLine

    return InvestmentLine.objects.count(), InvestmentLine.history.count()


def step_import(params):
    """`import_data investments FILE` through portal.imports.import_file (all or nothing, with
    history), with the lines and history rows counted before and after."""
    from portal.imports import import_file

    lines_before, history_before = counts()
    profiler = cProfile.Profile() if params.get("profile") else None
    started = time.perf_counter()
    if profiler:
        profiler.enable()
    outcome = import_file("investments", params["csv"])
    if profiler:
        profiler.disable()
    seconds = time.perf_counter() - started
    lines_after, history_after = counts()
    result = {
        "rows": outcome.rows,
        "seconds": seconds,
        "rows_per_second": outcome.rows / seconds if seconds else None,
        "new": outcome.new,
        "updated": outcome.updated,
        "unchanged": outcome.unchanged,
        "errors": [str(e) for e in outcome.errors[:10]],
        "error_count": len(outcome.errors),
        "lines_written": lines_after - lines_before,
        "history_written": history_after - history_before,
        "lines_total": lines_after,
    }
    if profiler:
        profiler.dump_stats(params["profile"])
        for key in ("tottime", "cumulative"):
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).sort_stats(key).print_stats(30)
            result[f"profile_{key}"] = out.getvalue()
    return result


# --- (4) the pages and the drill-down exports, through Django's test client -----------------------

BENCH_SUPERUSER = "bench-admin"
BENCH_MANAGER = "bench-gestionnaire"


def static_settings(params):
    """DEBUG is off, so {% static %} needs collectstatic's manifest: collected once (setup step)
    into the bench's work folder, then every page/export child points STATIC_ROOT at it."""
    from django.test import override_settings

    return override_settings(STATIC_ROOT=params["static_root"])


def step_pages_setup(params):
    """Not measured: the bench's users, collectstatic, and the publications the public pages read
    (every period of the programme whose state is « published », and the measured period)."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.core.management import call_command
    from django.db.models import Count

    from portal import highlights
    from portal.models import Period, PeriodState
    from portal.publication import publish
    from portal.roles import PROGRAMME_MANAGERS

    User = get_user_model()
    started = time.perf_counter()
    with static_settings(params):
        call_command("collectstatic", interactive=False, verbosity=0)
    superuser = User.objects.create_superuser(BENCH_SUPERUSER, "bench@example.org", None)
    # The staff viewer of the pages and drill-downs: what a programme manager is (is_staff and the
    # group; not a superuser, so its permissions are read through the group as in production).
    manager = User.objects.create_user(BENCH_MANAGER, "manager@example.org", None, is_staff=True)
    manager.groups.add(Group.objects.get(name=PROGRAMME_MANAGERS))

    periods = list(
        Period.objects.select_related("programme")
        .filter(programme__code=params["programme"])
        .order_by("start")
    )
    published = []
    for period in periods:
        if period.state == PeriodState.PUBLISHED or period.label == params["period"]:
            t0 = time.perf_counter()
            publish(period=period, user=superuser, note="bench")
            published.append({"period": period.label, "seconds": time.perf_counter() - t0})

    # The size of each drill-down of lines, per period (approved reports: what the page shows).
    sizes = {}
    for period in periods:
        sizes[period.label] = {
            figure: highlights.figure_rows(period, figure).aggregate(n=Count("pk"))["n"]
            for figure in (highlights.INVESTMENTS, highlights.CUMULATIVE_INVESTMENTS)
        }
    return {
        "seconds": time.perf_counter() - started,
        "published": published,
        "drilldown_rows": sizes,
        "periods": [p.label for p in periods],
    }


def bench_client(staff):
    from django.contrib.auth import get_user_model
    from django.test import Client

    client = Client()
    if staff:
        client.force_login(get_user_model().objects.get(username=BENCH_MANAGER))
    return client


def timed_get(client, url):
    started = time.perf_counter()
    response = client.get(url)
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return time.perf_counter() - started, response, body


def percentile(values, share):
    """Nearest-rank percentile (p95 of 50 values: the 48th smallest)."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * share // 1))  # ceil
    return ordered[int(rank) - 1]


def step_pages(params):
    """(a) public one-pager (published snapshot), (b) staff live one-pager (`?version=live`: the
    rollup), (c) public programme page, (d) staff programme page: one warm-up request, then
    `requests` timed ones (median, p95), and one more with its queries counted and timed."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse
    from django.utils import translation

    programme, period = params["programme"], params["period"]
    with translation.override("fr-ca"):
        one_pager = reverse("highlights", kwargs={"programme": programme, "period": period})
        programme_page = reverse("highlights-programme", kwargs={"programme": programme})
        drilldown = reverse(
            "highlights-drilldown",
            kwargs={"programme": programme, "period": period, "figure": "investments"},
        )
    cases = [
        ("one_pager_public", False, one_pager),
        ("one_pager_staff_live", True, one_pager + "?version=live"),
        ("programme_public", False, programme_page),
        ("programme_staff", True, programme_page),
        # For context: the first page (50 rows) of the period's investment lines, with its totals.
        ("drilldown_page_staff", True, drilldown),
    ]
    results = {}
    with static_settings(params):
        for name, staff, url in cases:
            client = bench_client(staff)
            _seconds, response, body = timed_get(client, url)  # warm-up
            if response.status_code != 200:
                raise SystemExit(f"bench: {url} answered {response.status_code}")
            times = [timed_get(client, url)[0] for _ in range(params["requests"])]
            timer = QueryTimer()
            with CaptureQueriesContext(connection) as captured, connection.execute_wrapper(timer):
                _seconds, response, body = timed_get(client, url)
            slowest = sorted(timer.queries, key=lambda q: -q[2])[:5]
            plan = None
            if slowest and slowest[0][2] > 0.05:  # where a page's time goes, when it goes somewhere
                with connection.cursor() as cursor:
                    cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + slowest[0][0], slowest[0][1])
                    plan = "\n".join(row[0] for row in cursor.fetchall())
            results[name] = {
                "url": url,
                "staff": staff,
                "status": response.status_code,
                "bytes": len(body),
                "provisoire": "provisoire" in body.decode("utf-8", "replace").lower(),
                "requests": len(times),
                "seconds": times,
                "median": statistics.median(times),
                "p95": percentile(times, 0.95),
                "max": max(times),
                "queries": len(captured.captured_queries),
                "query_seconds": sum(q[2] for q in timer.queries),
                "slowest_queries": [
                    {"sql": " ".join(sql.split())[:300], "seconds": seconds}
                    for sql, _params, seconds in slowest
                ],
                "slowest_plan": plan,
            }
    return results


def step_export(params):
    """One drill-down export as a staff user downloads it: `?_export=csv` consumed chunk by chunk
    from `streaming_content` (written to a file, as a browser does), `?_export=xlsx` whole. The
    file is checked afterwards by the parent (rows, sum of the amounts), so the check costs this
    child's peak memory nothing."""
    from django.db import connection
    from django.db.models import Count, Sum
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse
    from django.utils import translation

    from portal import highlights

    kwargs = {k: params[k] for k in ("programme", "period", "figure")}
    with translation.override("fr-ca"):
        url = reverse("highlights-drilldown", kwargs=kwargs) + f"?_export={params['format']}"
    profiler = cProfile.Profile() if params.get("profile") else None
    with static_settings(params):
        client = bench_client(staff=True)
        started = time.perf_counter()
        chunks = 0
        size = 0
        if profiler:
            profiler.enable()
        with CaptureQueriesContext(connection) as captured:
            response = client.get(url)
            first_byte = time.perf_counter() - started
            status = response.status_code
            with open(params["out"], "wb") as handle:
                if response.streaming:
                    for chunk in response.streaming_content:
                        handle.write(chunk)
                        chunks += 1
                        size += len(chunk)
                else:
                    handle.write(response.content)
                    chunks, size = 1, len(response.content)
            response.close()
        if profiler:
            profiler.disable()
        seconds = time.perf_counter() - started
    period = highlights.find_period(params["programme"], params["period"])
    expected = highlights.figure_rows(period, params["figure"]).aggregate(
        rows=Count("pk"), amount=Sum("amount")
    )
    result = {
        "url": url,
        "status": status,
        "streaming": response.streaming,
        "content_type": response.get("Content-Type"),
        "seconds": seconds,
        "first_byte_seconds": first_byte,
        "bytes": size,
        "chunks": chunks,
        "queries": len(captured.captured_queries),
        "expected_rows": expected["rows"],
        "expected_amount": str(cents(expected["amount"] or 0)),
    }
    if profiler:
        profiler.dump_stats(params["profile"])
        for key in ("tottime", "cumulative"):
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).sort_stats(key).print_stats(35)
            result[f"profile_{key}"] = out.getvalue()
    return result


STEPS = {
    "migrate": step_migrate,
    "build": step_build,
    "baseline": step_baseline,
    "rollup": step_rollup,
    "import": step_import,
    "pages_setup": step_pages_setup,
    "pages": step_pages,
    "export": step_export,
}
