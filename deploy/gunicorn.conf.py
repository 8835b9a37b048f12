"""gunicorn settings shared by `make run` and production (deploy/vaxbook-web.service).

Workers: the booking path is short and CPU-bound in Python, so one process per core plus a
few threads each keeps the cores busy while a request waits on the database; see the
README's benchmark figures for the comparison with other worker types and granian.
"""

import multiprocessing
import os

bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count()))
worker_class = "gthread"
threads = int(os.environ.get("WEB_THREADS", "4"))
# Requests are short; a worker stuck this long is restarted rather than left holding a slot.
timeout = 30
graceful_timeout = 20
keepalive = 5
# Bounded memory: recycle each worker after this many requests (jittered so they do not all
# restart at once).
max_requests = 20000
max_requests_jitter = 2000
accesslog = "-"
errorlog = "-"
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
