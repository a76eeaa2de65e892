"""Load test of the partner portal: N partner users sign in, then each saves and submits a report,
all at once, against `make serve` (gunicorn) on PostgreSQL; then the database is checked: every
submitted line is there, exactly once. See bench/README.md, "Load test".

    .venv/bin/python bench/load.py                    # 50 users, a person's pace (1-3 s per page)
    .venv/bin/python bench/load.py --think 0 --ramp 0 # the same 50 users without a pause: saturation

It creates its own database (`psm_load`, dropped at the end), builds a programme with a collection
open today and one partner, one user and two projects in progress per simulated person, starts
`make serve` on a loopback port with production settings (DEBUG off, a reverse proxy's headers:
X-Forwarded-Proto and one X-Forwarded-For address per person), and drives it from threads of this
process, one per person, with plain HTTP requests as a browser sends them (cookies, the CSRF
token, Origin, following redirects). The parent never imports Django; the set-up and the check run
in child processes pointed at the load database.

bench/faults.py uses the same pieces (`Run`) to kill workers and restart PostgreSQL under load.
"""

import argparse
import http.client
import json
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from decimal import Decimal
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode, urlsplit

sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parent.parent)]
import run as bench  # noqa: E402 (bench/run.py: the database and the environment of a child)

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
PASSWORD = "Charge-de-travail-2026!"
P95_TARGET_MS = 300
LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=50, help="simulated partner users")
    parser.add_argument(
        "--think",
        type=float,
        default=2.0,
        help="mean seconds a person spends on a page before the next action (uniform, ±50%%); "
        "0: none",
    )
    parser.add_argument(
        "--ramp", type=float, default=10.0, help="seconds over which the users arrive"
    )
    parser.add_argument(
        "--max-requests", type=int, default=5000, help="no request is sent past this many"
    )
    parser.add_argument(
        "--time-limit", type=float, default=300.0, help="seconds; no request is sent after"
    )
    parser.add_argument("--port", type=int, default=8765, help="loopback port of `make serve`")
    parser.add_argument(
        "--workers", type=int, help="gunicorn workers (WEB_CONCURRENCY; default: gunicorn.conf.py)"
    )
    parser.add_argument(
        "--server",
        default=os.environ.get("BENCH_POSTGRES", "postgres://postgres@127.0.0.1:5432"),
        help="PostgreSQL server URL without a database (env BENCH_POSTGRES)",
    )
    parser.add_argument("--db-name", default="psm_load", help="database created, then dropped")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--step", help=argparse.SUPPRESS)  # internal: run one child step
    parser.add_argument("--params", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if "load" not in args.db_name and "fault" not in args.db_name:
        parser.error("--db-name must contain 'load' or 'fault' (the run drops it)")
    if urlsplit(args.server).hostname not in LOOPBACK:
        parser.error("the load test runs against a PostgreSQL server on the loopback only")
    return args


def say(message):
    print(f"[load {time.strftime('%H:%M:%S')}] {message}", flush=True)


def percentile(values, share):
    """Nearest rank."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered) + 0.5) - 1))]


# --- Child steps (Django) -------------------------------------------------------------------------


def child_env(url, **extra):
    """bench/run.py's environment of a child (DEBUG off, the load database), served on the
    loopback, without e-mail: no SMTP server here, the receipts are built and dropped (a real one
    adds its own latency to each submission, after the commit)."""
    env = bench.child_env(url)
    env.update(
        {
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "EMAIL_HOST": "",
            "EMAIL_BACKEND": "django.core.mail.backends.dummy.EmailBackend",
        }
    )
    env.update(extra)
    return env


def run_child(step, params, url):
    result = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--step", step, "--params", "-"],
        input=json.dumps(params),
        cwd=ROOT,
        env=child_env(url),
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise SystemExit(f"load: step {step} failed:\n{result.stderr}")
    return json.loads(result.stdout)


def step_setup(params):
    """A programme with a collection open today; per person a partner, its user, two projects."""
    import datetime

    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password
    from django.core.management import call_command
    from django.utils import timezone

    from portal.models import Partner, PartnerKind, Period, Programme, Project, Sector

    call_command("migrate", verbosity=0)
    today = timezone.localdate()
    first = today.year if today.month >= 4 else today.year - 1
    programme = Programme.objects.create(
        code="LOAD",
        name="Programme de charge",
        funder="Ministère",
        government_aid=Decimal("1000000"),
        investment_target=Decimal("5000000"),
        start=datetime.date(first - 1, 4, 1),
        end=datetime.date(first + 3, 3, 31),
    )
    period = Period.objects.create(
        programme=programme,
        label=f"{first}-{first + 1}",
        start=datetime.date(first, 4, 1),
        end=datetime.date(first + 1, 3, 31),
        deadline=today + datetime.timedelta(days=30),
    )
    sector = Sector.objects.create(code="NUM", name_fr="Numérique", name_en="Digital")
    password = make_password(PASSWORD)  # one hash for all: 50 hashes would take 15 s
    kinds = [PartnerKind.SME, PartnerKind.LARGE_ENTERPRISE, PartnerKind.RESEARCH_CENTRE]
    people = []
    for n in range(1, params["users"] + 1):
        code = f"L{n:03d}"
        partner = Partner.objects.create(
            code=code, name=f"Partenaire {code}", kind=kinds[n % 3], quebec=True
        )
        user = get_user_model().objects.create(
            username=f"{code.lower()}@load.example", email=f"{code.lower()}@load.example"
        )
        user.password = password
        user.save(update_fields=["password"])
        partner.users.add(user)
        projects = [
            Project.objects.create(
                programme=programme,
                code=f"{code}-P{i}",
                title=f"Projet {i} de {code}",
                type="product_development",
                objective="Charge",
                sector=sector,
                lead_partner=partner,
                start=datetime.date(first - 1, 6, 1),
                status="active",
            )
            for i in (1, 2)
        ]
        people.append(
            {
                "partner": code,
                "username": user.username,
                "projects": {str(p.pk): p.code for p in projects},
            }
        )
    return {
        "programme": programme.code,
        "period": period.label,
        "launch_date": (period.start + datetime.timedelta(days=60)).isoformat(),
        "sector": sector.pk,
        "people": people,
    }


def step_check(params):
    """What the database holds against what each person submitted: every line exactly once."""
    from portal.models import InvestmentLine, JobLine, ProductLine, Report

    expected = params["expected"]  # partner code -> {"investments": [...], "jobs": [...], ...}
    reports = {
        r.partner.code: r
        for r in Report.objects.select_related("partner").filter(period__label=params["period"])
    }
    found = {code: {"investments": [], "jobs": [], "products": []} for code in expected}
    for line in InvestmentLine.objects.select_related("report__partner", "project"):
        found.setdefault(line.report.partner.code, {"investments": [], "jobs": [], "products": []})
        found[line.report.partner.code]["investments"].append(
            [line.project.code, line.category, line.performer, str(line.amount)]
        )
    for line in JobLine.objects.select_related("report__partner", "project"):
        found[line.report.partner.code]["jobs"].append(
            [line.project.code, line.direct, line.indirect]
        )
    for line in ProductLine.objects.select_related("report__partner", "project"):
        found[line.report.partner.code]["products"].append([line.project.code, line.name])

    summary = {"reports": len(expected), "submitted": 0, "lines_expected": 0, "lines_found": 0}
    problems = []
    for code, lines in expected.items():
        report = reports.get(code)
        status = report.status if report else "missing"
        if status == "submitted":
            summary["submitted"] += 1
        elif params.get("submitted_only", True):
            problems.append(f"{code}: report {status}")
        for kind in ("investments", "jobs", "products"):
            want = sorted(map(tuple, lines[kind]))
            have = sorted(map(tuple, found[code][kind]))
            summary["lines_expected"] += len(want)
            summary["lines_found"] += len(have)
            if want != have:
                # A report is whole or empty: a partial one would be half-written.
                kind_state = "empty" if not have else "DIFFERENT"
                problems.append(f"{code} {kind}: {kind_state} ({len(have)} of {len(want)})")
    summary["duplicates"] = sum(
        len(v[k]) - len(set(map(tuple, v[k]))) for v in found.values() for k in v
    )
    summary["problems"] = problems
    summary["history_submissions"] = sum(
        1
        for r in reports.values()
        for h in r.history.all()
        if h.history_change_reason == "submitted"
    )
    return summary


STEPS = {"setup": step_setup, "check": step_check}


def child_main(args):
    import django

    sys.path.insert(0, str(ROOT))
    django.setup()
    params = json.loads(sys.stdin.read() if args.params == "-" else Path(args.params).read_text())
    print(json.dumps(STEPS[args.step](params), default=str))


# --- The server -----------------------------------------------------------------------------------


def start_server(url, port, workers, log_path):
    env = child_env(
        url,
        BIND=f"127.0.0.1:{port}",
        # As behind the production proxy: TLS ended there, the client's address appended.
        SECURE_PROXY_SSL_HEADER="HTTP_X_FORWARDED_PROTO,https",
        TRUSTED_PROXY_COUNT="1",
        CSRF_TRUSTED_ORIGINS=f"https://127.0.0.1:{port}",
    )
    env.pop("DEBUG")  # `make serve` turns it off
    if workers:
        env["WEB_CONCURRENCY"] = str(workers)
    log = open(log_path, "w")  # noqa: SIM115 (closed by stop_server)
    process = subprocess.Popen(
        ["make", "-s", "serve"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: stopped as a whole
    )
    process.log = log
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"load: `make serve` exited ({process.returncode}); see {log_path}")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/healthz", headers={"Host": "127.0.0.1"})
            if connection.getresponse().status == 200:
                return process
        except OSError:
            pass
        time.sleep(0.3)
    stop_server(process)
    raise SystemExit(f"load: the server did not answer on port {port}; see {log_path}")


def stop_server(process):
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        os.killpg(process.pid, signal.SIGKILL)
    process.log.close()


def gunicorn_processes():
    """{pid: ppid} of the gunicorn processes serving psm.wsgi."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if "gunicorn" in command and "psm.wsgi" in command:
            found[int(entry.name)] = ppid
    return found


def gunicorn_workers():
    processes = gunicorn_processes()
    return sorted(pid for pid, ppid in processes.items() if ppid in processes)


# --- The simulated people -------------------------------------------------------------------------


class Budget:
    """The run's bounds: requests and time. Once spent, no further request leaves."""

    def __init__(self, max_requests, time_limit):
        self.max_requests, self.deadline = max_requests, time.monotonic() + time_limit
        self.sent = 0
        self.lock = threading.Lock()

    def take(self):
        with self.lock:
            if self.sent >= self.max_requests or time.monotonic() > self.deadline:
                return False
            self.sent += 1
            return True


@dataclass
class Sample:
    step: str
    method: str
    status: int  # 0: no answer (the connection failed)
    ms: float
    started: float
    error: str = ""


class OutOfBudget(Exception):
    pass


class Person:
    """One partner user, driving the portal as a browser does."""

    def __init__(self, run, index, info):
        self.run, self.index, self.info = run, index, info
        self.cookies = {}
        self.address = f"10.{index // 250}.{index % 250}.{1 + index % 200}"
        self.rng = random.Random(run.seed * 1000 + index)
        self.done = False
        self.failure = ""
        self.retries = 0

    # HTTP

    def request(self, step, method, path, form=None):
        if not self.run.budget.take():
            raise OutOfBudget
        port = self.run.port
        headers = {
            "Host": f"127.0.0.1:{port}",
            "X-Forwarded-Proto": "https",
            "X-Forwarded-For": self.address,
            "Accept-Language": "fr-CA,fr;q=0.9",
            "User-Agent": "psm-load/1",
        }
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urlencode(form, doseq=True).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["Origin"] = f"https://127.0.0.1:{port}"
            headers["Referer"] = f"https://127.0.0.1:{port}{path}"
        started = time.perf_counter()
        status, location, content, error = 0, None, b"", ""
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            content = response.read()
            status = response.status
            location = response.getheader("Location")
            for header in response.headers.get_all("Set-Cookie") or []:
                for name, morsel in SimpleCookie(header).items():
                    if morsel["max-age"] == "0" or morsel.value == "":
                        self.cookies.pop(name, None)
                    else:
                        self.cookies[name] = morsel.value
            connection.close()
        except (OSError, http.client.HTTPException) as exc:
            error = f"{type(exc).__name__}: {exc}"
        elapsed = (time.perf_counter() - started) * 1000
        self.run.record(Sample(step, method, status, elapsed, started, error), content)
        return status, location, content

    def get(self, step, path):
        """GET, following redirects as a browser does; (status, final path, body)."""
        for _ in range(5):
            status, location, content = self.request(step, "GET", path)
            if status in (301, 302, 303) and location:
                path = urlsplit(location).path or path
                step = f"{step} (redirect)" if "(redirect)" not in step else step
                continue
            return status, path, content
        return status, path, content

    def post(self, step, path, form):
        """POST, then the page it redirects to (empty when that page did not come)."""
        status, location, content = self.request(step, "POST", path, form)
        if status in (302, 303) and location:
            follow_status, final, page = self.get(f"{step} → page", urlsplit(location).path)
            return status, final, page if follow_status == 200 else b""
        return status, path, content

    def think(self):
        mean = self.run.think
        if mean > 0:
            time.sleep(self.rng.uniform(0.5 * mean, 1.5 * mean))

    # The journey

    def report_path(self):
        run = self.run
        return f"/fr-ca/partner/{self.info['partner']}/reports/{run.programme}/{run.period}/"

    def expected(self):
        """The lines this person types, as the check reads them back from the database."""
        investments, jobs, products = [], [], []
        for n, code in enumerate(sorted(self.info["projects"].values())):
            base = 1000 * (self.index + 1) + n
            investments += [
                [code, "labour", "self", f"{base}.25"],
                [code, "equipment", "quebec_sme", f"{base + 500}.50"],
            ]
            jobs.append([code, 2 + n, 1])
            products.append([code, f"Produit {self.info['partner']} {n}"])
        return {"investments": investments, "jobs": jobs, "products": products}

    def fill(self, data):
        projects = dict(sorted(self.info["projects"].items(), key=lambda item: item[1]))
        for n, (pk, _code) in enumerate(projects.items()):
            base = 1000 * (self.index + 1) + n
            # French notation for one amount (« 1 234,56 »), the plain one for the other.
            french = f"{base:,}".replace(",", "\u00a0") + ",25"
            rows = [("labour", "self", french), ("equipment", "quebec_sme", f"{base + 500}.50")]
            for row, (category, performer, amount) in enumerate(rows):
                data[f"inv-{pk}-{row}-category"] = category
                data[f"inv-{pk}-{row}-performer"] = performer
                data[f"inv-{pk}-{row}-amount"] = amount
            data[f"inv-{pk}-TOTAL_FORMS"] = str(max(int(data[f"inv-{pk}-TOTAL_FORMS"]), 2))
            data[f"jobs-{pk}-direct"] = str(2 + n)
            data[f"jobs-{pk}-indirect"] = "1"
            data[f"prod-{pk}-0-name"] = f"Produit {self.info['partner']} {n}"
            data[f"prod-{pk}-0-sector"] = str(self.run.sector)
            data[f"prod-{pk}-0-launch_date"] = self.run.launch_date
            data[f"prod-{pk}-0-uses_programme_technology"] = "on"
        return data

    def journey(self):
        try:
            self.sign_in()
            self.think()
            page = self.reload("report page")
            self.think()  # typing
            self.save_then_submit(page)
            self.done = True
        except OutOfBudget:
            self.failure = self.failure or "out of budget (--max-requests or --time-limit)"
        except Exception as failure:  # noqa: BLE001 (a person's failure is a result, not a crash)
            self.failure = f"{type(failure).__name__}: {failure}"

    def sign_in(self):
        for attempt in range(6):
            status, _path, page = self.get("sign-in page", "/fr-ca/accounts/login/")
            token = csrf_token(page)
            if status == 200 and token:
                self.think()
                status, final, _page = self.post(
                    "sign in",
                    "/fr-ca/accounts/login/",
                    {
                        "csrfmiddlewaretoken": token,
                        "username": self.info["username"],
                        "password": PASSWORD,
                        "next": "",
                    },
                )
                if status == 302 and final.startswith(f"/fr-ca/partner/{self.info['partner']}/"):
                    return
            self.retry(f"sign in: {status}", attempt)
        raise Failure("could not sign in")

    def save_then_submit(self, page):
        """« Enregistrer le brouillon », then « Soumettre ». An answer that never came (a worker
        killed, the database restarting) is retried as a person would: reload the page, see
        what was kept, send again what was not."""
        for action in ("save", "submit"):
            for attempt in range(5):
                if action == "submit" and SUBMITTED in page:
                    break  # an earlier attempt went through
                if action == "save" and self.already_saved(page):
                    break
                data = self.fill(form_data(page)) if action == "save" else form_data(page)
                data["action"] = action
                status, _path, after = self.post(action, self.report_path(), data)
                if status == 302:
                    # Done; the page after it may not have come (a worker killed, the database
                    # away): reloaded then, as a person would.
                    page = after if usable(after) else self.reload("report page (retry)")
                    break
                self.retry(f"{action}: {status}", attempt)
                page = self.reload("report page (retry)")
            else:
                raise Failure(f"{action} failed after retries")
            self.think()
        if SUBMITTED not in page:
            raise Failure("the report page does not say it is submitted")

    def reload(self, step):
        """The report page, as a person reloads it until it comes (the server may be busy
        restarting a worker or waiting for its database)."""
        for attempt in range(6):
            status, _path, page = self.get(step, self.report_path())
            if status == 200 and usable(page):
                return page
            self.retry(f"{step}: {status}", attempt)
        raise Failure(f"{step}: no page after retries")

    def already_saved(self, page):
        text = page.decode()
        return all(f'value="{name}"' in text for _code, name in self.expected()["products"])

    def retry(self, why, attempt):
        self.retries += 1
        self.run.note_retry(why)
        time.sleep(min(5.0, 0.5 * 2**attempt))

    def expect(self, condition, message):
        if not condition:
            raise Failure(message)


class Failure(Exception):
    pass


SUBMITTED = "a été soumis".encode()  # what the report page says once it is submitted


def usable(page):
    """A report page: its form, or the word that it is submitted."""
    return b'id="report-form"' in page or SUBMITTED in page


def csrf_token(page):
    match = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    return match.group(1).decode() if match else None


def form_data(page):
    from tests.forms_support import _FormReader

    reader = _FormReader("report-form")
    reader.feed(page.decode())
    if not reader.data:
        raise Failure("no report form on the page")
    return reader.data


@dataclass
class Run:
    """One load run: the people, the server's address, the bounds, and what was measured."""

    port: int
    programme: str
    period: str
    sector: int
    launch_date: str
    think: float
    ramp: float
    seed: int
    budget: Budget
    samples: list = field(default_factory=list)
    retries: dict = field(default_factory=dict)
    unexpected: list = field(default_factory=list)  # (sample, first bytes of the body)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, sample, content):
        with self.lock:
            self.samples.append(sample)
            if sample.status == 0 or sample.status >= 500:
                self.unexpected.append((sample, content[:4000]))

    def note_retry(self, why):
        with self.lock:
            self.retries[why] = self.retries.get(why, 0) + 1

    def drive(self, people):
        threads = []
        self.load_average = [os.getloadavg()[0]]  # other work on the machine shows here
        cpu = time.process_time()
        self.started = time.perf_counter()
        for n, person in enumerate(people):
            delay = self.ramp * n / max(1, len(people) - 1) if self.ramp else 0
            thread = threading.Thread(target=self._arrive, args=(person, delay), daemon=True)
            thread.start()
            threads.append(thread)
        for thread in threads:
            thread.join()
        self.elapsed = time.perf_counter() - self.started
        self.client_cpu = time.process_time() - cpu  # this process's share of the 2 cores
        self.load_average.append(os.getloadavg()[0])

    def _arrive(self, person, delay):
        time.sleep(delay)
        person.journey()

    def stats(self):
        samples = self.samples
        times = [s.ms for s in samples]
        errors = [s for s in samples if s.status == 0 or s.status >= 500]
        by_step = {}
        for sample in samples:
            by_step.setdefault(sample.step, []).append(sample.ms)
        return {
            "requests": len(samples),
            "seconds": round(self.elapsed, 2),
            "requests_per_second": round(len(samples) / self.elapsed, 1) if self.elapsed else 0,
            "client_cpu_seconds": round(self.client_cpu, 1),
            "load_average_before_after": [round(x, 2) for x in self.load_average],
            "p50_ms": round(percentile(times, 0.50) or 0, 1),
            "p95_ms": round(percentile(times, 0.95) or 0, 1),
            "p99_ms": round(percentile(times, 0.99) or 0, 1),
            "max_ms": round(max(times, default=0), 1),
            "errors": len(errors),
            "error_statuses": sorted({s.status for s in errors}),
            "retries": self.retries,
            "steps": {
                step: {
                    "n": len(values),
                    "p50_ms": round(percentile(values, 0.5), 1),
                    "p95_ms": round(percentile(values, 0.95), 1),
                }
                for step, values in sorted(by_step.items())
            },
        }


def prepare(args, log_name="load-server.log"):
    """Database, world and server: (url, world, server process)."""
    url = bench.database_url(args.server, args.db_name)
    bench.refuse_development_database(url)
    OUT.mkdir(parents=True, exist_ok=True)
    say(f"database {url}: drop if it exists, create, migrate, {args.users} partners")
    bench.create_database(args.server, args.db_name)
    world = run_child("setup", {"users": args.users}, url)
    say(f"make serve on 127.0.0.1:{args.port} (log: bench/out/{log_name})")
    server = start_server(url, args.port, args.workers, OUT / log_name)
    workers = gunicorn_workers()
    say(f"gunicorn: {len(workers)} workers {workers}; warming them up (not measured)")
    warm_up(args.port, 4 * len(workers))
    return url, world, server


def warm_up(port, requests):
    """Each worker's first requests load the code, the templates and its database pool: a server
    that has been up for a while has done that already."""
    for _ in range(requests):
        for path in ("/fr-ca/accounts/login/", "/healthz"):
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            connection.request(
                "GET", path, headers={"Host": "127.0.0.1", "X-Forwarded-Proto": "https"}
            )
            connection.getresponse().read()
            connection.close()


def new_run(args, world, *, think=None, ramp=None, max_requests=None, time_limit=None):
    return Run(
        port=args.port,
        programme=world["programme"],
        period=world["period"],
        sector=world["sector"],
        launch_date=world["launch_date"],
        think=args.think if think is None else think,
        ramp=args.ramp if ramp is None else ramp,
        seed=args.seed,
        budget=Budget(
            max_requests or args.max_requests,
            args.time_limit if time_limit is None else time_limit,
        ),
    )


def people_of(run, world):
    return [Person(run, n, info) for n, info in enumerate(world["people"])]


def check(url, world, people, **params):
    expected = {p.info["partner"]: p.expected() for p in people}
    return run_child("check", {"period": world["period"], "expected": expected, **params}, url)


def print_summary(title, stats, database, people):
    print(f"\n== {title}")
    print(
        f"requests {stats['requests']} in {stats['seconds']} s = "
        f"{stats['requests_per_second']} requests/s; latency p50 {stats['p50_ms']} ms, "
        f"p95 {stats['p95_ms']} ms, p99 {stats['p99_ms']} ms, max {stats['max_ms']} ms"
    )
    before, after = stats["load_average_before_after"]
    print(
        f"the load generator itself used {stats['client_cpu_seconds']} s of CPU; "
        f"load average {before} before, {after} after"
    )
    target = "met" if stats["p95_ms"] < P95_TARGET_MS else "MISSED"
    print(f"errors {stats['errors']} {stats['error_statuses']}; p95 < {P95_TARGET_MS} ms: {target}")
    if stats["retries"]:
        print(f"retries {stats['retries']}")
    print(f"{'step':<34} {'n':>5} {'p50 ms':>8} {'p95 ms':>8}")
    for step, row in stats["steps"].items():
        print(f"{step:<34} {row['n']:>5} {row['p50_ms']:>8} {row['p95_ms']:>8}")
    unfinished = [f"{p.info['partner']}: {p.failure}" for p in people if not p.done]
    print(
        f"people who finished {sum(p.done for p in people)} of {len(people)}"
        + (f"; unfinished: {unfinished[:5]}" if unfinished else "")
    )
    lost = database["lines_expected"] - database["lines_found"]
    print(
        f"database: {database['submitted']} of {database['reports']} reports submitted, "
        f"lines {database['lines_found']} of {database['lines_expected']} "
        f"(lost {lost}, duplicated {database['duplicates']}), "
        f"submissions in the history {database['history_submissions']}"
    )
    for problem in database["problems"][:10]:
        print(f"  problem: {problem}")


def main(args):
    url, world, server = prepare(args)
    try:
        run = new_run(args, world)
        people = people_of(run, world)
        say(
            f"{len(people)} people, arriving over {run.ramp} s, {run.think} s per page on "
            f"average; at most {args.max_requests} requests and {args.time_limit} s"
        )
        run.drive(people)
        stats = run.stats()
        database = check(url, world, people)
    finally:
        stop_server(server)
        if args.keep:
            say(f"database {url} kept (--keep)")
        else:
            bench.drop_database(args.server, args.db_name)
    print_summary(
        f"{args.users} users, think {args.think} s, ramp {args.ramp} s", stats, database, people
    )
    for sample, body in run.unexpected[:3]:
        print(f"  unexpected: {sample.step} {sample.status} {sample.error} {body[:200]!r}")
    result = {"args": vars(args), "stats": stats, "database": database}
    stamp = time.strftime("%Y%m%d-%H%M%S")
    (OUT / f"load-{stamp}.json").write_text(json.dumps(result, indent=2, default=str) + "\n")
    ok = (
        stats["errors"] == 0
        and not database["problems"]
        and database["lines_found"] == database["lines_expected"]
        and database["duplicates"] == 0
    )
    return 0 if ok else 1


if __name__ == "__main__":
    arguments = parse_args()
    if arguments.step:
        child_main(arguments)
    else:
        sys.exit(main(arguments))
