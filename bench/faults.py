"""Fault drills under load (issue #6): the load test's people save and submit their reports while
(1) gunicorn workers are killed, (2) the database drops every connection of the portal, and
(3) PostgreSQL is restarted. After each, the database is checked as after the load test: every
line submitted exactly once, no report half-written. See bench/README.md, "Fault drills".

    .venv/bin/python bench/faults.py                 # the three drills, 30 people each
    .venv/bin/python bench/faults.py --drill restart # one of them

Drill 3 restarts the machine's PostgreSQL server (pg_ctlcluster, as root): run it where nothing
else uses that server. What a person sees during a fault is printed: the status and the first
words of the page (a 503 « momentanément indisponible » page, in French, when the database is
away; no answer at all when their worker was killed, which a reverse proxy turns into a 502).
"""

import argparse
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parent.parent)]
import load  # noqa: E402
from run import admin, drop_database  # noqa: E402

DRILLS = ("worker", "connections", "restart")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--drill", choices=[*DRILLS, "all"], default="all")
    parser.add_argument("--users", type=int, default=30)
    parser.add_argument("--think", type=float, default=1.0)
    parser.add_argument("--ramp", type=float, default=5.0)
    parser.add_argument("--port", type=int, default=8766)
    parser.add_argument("--workers", type=int)
    parser.add_argument(
        "--server", default=os.environ.get("BENCH_POSTGRES", "postgres://postgres@127.0.0.1:5432")
    )
    parser.add_argument("--db-name", default="psm_faults")
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args(argv)
    args.max_requests, args.time_limit, args.keep = 20_000, 600.0, False
    return args


def say(message):
    print(f"[faults {time.strftime('%H:%M:%S')}] {message}", flush=True)


# --- The faults ---------------------------------------------------------------------------------


def kill_workers(run, stop, events, *, every=4.0, times=3):
    """SIGKILL a worker every few seconds while people are busy: its request gets no answer."""
    rng = random.Random(7)
    time.sleep(3.0)
    for _ in range(times):
        if stop.is_set():
            return
        workers = load.gunicorn_workers()
        victim = rng.choice(workers)
        os.kill(victim, signal.SIGKILL)
        events.append(f"{time.strftime('%H:%M:%S')} SIGKILL worker {victim} (of {len(workers)})")
        stop.wait(every)


def drop_connections(args, stop, events, *, every=3.0, times=4):
    """The database ends every connection of the portal's database (as a failover does)."""
    time.sleep(3.0)
    for _ in range(times):
        if stop.is_set():
            return
        admin(
            args.server,
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            f"WHERE datname = '{args.db_name}' AND pid <> pg_backend_pid()",
        )
        events.append(f"{time.strftime('%H:%M:%S')} pg_terminate_backend: every connection")
        stop.wait(every)


def restart_postgresql(args, stop, events, *, down_seconds=3.0):
    """Stop PostgreSQL for a few seconds in the middle of the saves, then start it again."""
    cluster = sorted(os.listdir("/etc/postgresql"))[-1]
    time.sleep(4.0)
    started = time.monotonic()
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", cluster, "main", "stop", "-m", "fast"],
        check=True,
    )
    events.append(f"{time.strftime('%H:%M:%S')} PostgreSQL {cluster} stopped (fast)")
    time.sleep(down_seconds)
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", cluster, "main", "start"], check=True
    )
    events.append(
        f"{time.strftime('%H:%M:%S')} PostgreSQL started again, "
        f"{time.monotonic() - started:.1f} s after the stop"
    )


FAULTS = {"worker": kill_workers, "connections": drop_connections, "restart": restart_postgresql}


# --- A drill --------------------------------------------------------------------------------------


def words(body):
    text = re.sub(rb"<[^>]+>", b" ", body).decode(errors="replace")
    title = re.search(r"<h1[^>]*>(.*?)</h1>", body.decode(errors="replace"), re.S)
    return (title.group(1).strip() if title else " ".join(text.split())[:80]) or "(empty)"


def drill(args, name):
    args.db_name = f"psm_faults_{name}"
    url, world, server = load.prepare(args, log_name=f"faults-{name}-server.log")
    events, stop = [], threading.Event()
    try:
        run = load.new_run(args, world)
        people = load.people_of(run, world)
        fault_args = (run, stop, events) if name == "worker" else (args, stop, events)
        fault = threading.Thread(target=FAULTS[name], args=fault_args, daemon=True)
        say(f"drill {name}: {len(people)} people save and submit while the fault happens")
        fault.start()
        run.drive(people)
        stop.set()
        fault.join()
        stats = run.stats()
        database = load.check(url, world, people)
        workers_after = load.gunicorn_workers()
    finally:
        load.stop_server(server)
        drop_database(args.server, args.db_name)
    load.print_summary(f"drill: {name}", stats, database, people)
    print("faults:")
    for event in events:
        print(f"  {event}")
    seen = {}
    for sample, body in run.unexpected:
        key = (sample.step, sample.status, sample.error.split(":")[0] if sample.error else "")
        seen.setdefault(key, [0, words(body) if body else sample.error])[0] += 1
    print("what people saw when a request failed (step, status: count, page or error):")
    for (step, status, _error), (count, text) in sorted(seen.items()):
        print(f"  {step}, {status or 'no answer'}: {count}× {text}")
    print(f"gunicorn workers after the drill: {len(workers_after)}")
    server_errors = sum(1 for sample, _body in run.unexpected if sample.status == 500)
    ok = (
        not database["problems"]
        and database["lines_found"] == database["lines_expected"]
        and database["duplicates"] == 0
        and all(p.done for p in people)
        and server_errors == 0
    )
    print(f"drill {name}: {'OK' if ok else 'FAILED'} (500 pages: {server_errors})")
    return ok


def main(args):
    results = {
        name: drill(args, name) for name in (DRILLS if args.drill == "all" else [args.drill])
    }
    print("\n" + ", ".join(f"{name}: {'OK' if ok else 'FAILED'}" for name, ok in results.items()))
    return 0 if all(results.values()) else 1


if __name__ == "__main__":
    sys.exit(main(parse_args()))
