"""Gunicorn's settings for `make serve`, read from the environment (README, "Deployment").

Sync workers, one request at a time each: WEB_CONCURRENCY of them, by default one per core plus
one. The portal's requests spend their time computing (templates, forms), not waiting: on our
2-core machines, with PostgreSQL beside it, 3 workers answered the load test's 50 people with a
p95 of 149-307 ms (median of 5 runs: 233), where gunicorn's usual 2 per core plus one (5) gave
288-414 ms for the same throughput (README.md, "Load and faults"). Each worker opens its own database pool on its first
request (nothing is preloaded before the fork, so no connection is shared between processes).
"""

import multiprocessing
import os

bind = os.getenv("BIND", f"127.0.0.1:{os.getenv('PORT', '8000')}")
workers = int(os.getenv("WEB_CONCURRENCY", multiprocessing.cpu_count() + 1))
threads = int(os.getenv("GUNICORN_THREADS", "1"))
# A worker silent for this long is killed and replaced; its request's transaction is rolled back.
timeout = int(os.getenv("GUNICORN_TIMEOUT", "60"))
graceful_timeout = 30
keepalive = 5
# Workers are replaced now and then, so that no slow leak accumulates.
max_requests = int(os.getenv("GUNICORN_MAX_REQUESTS", "2000"))
max_requests_jitter = max_requests // 10
accesslog = "-"
errorlog = "-"
# %(M)s: the request's duration in milliseconds.
access_log_format = '%(h)s %(t)s "%(r)s" %(s)s %(b)s %(M)sms "%(a)s"'
