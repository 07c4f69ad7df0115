"""Gunicorn settings for production: `gunicorn --config deploy/gunicorn.conf.py wsgi:app`.

Every value can be changed through an environment variable of the same name
prefixed GUNICORN_ (set them in /etc/sipas/env next to the app's own settings).
"""

import multiprocessing
import os


def _env(name: str, default):
    value = os.environ.get(f"GUNICORN_{name}")
    return type(default)(value) if value not in (None, "") else default


# nginx on the same machine is the only client; never listen on a public address.
bind = _env("BIND", "127.0.0.1:8000")
# (2 x cores) + 1 workers of 2 threads. Threads overlap the waits on PostgreSQL, and several
# processes keep a crashed or killed worker from taking the service down while the arbiter
# replaces it. More threads per worker only queued them on the GIL, and a thread waiting to
# run again held SQLite's write turn (or a report cell's row lock) longer: on 2 cores,
# benchmarks/load_submit.py measured 230 submissions/s at 4 x 4 and 290 at 5 x 2 on SQLite
# (docs/PERFORMANCE.md).
workers = _env("WORKERS", 2 * multiprocessing.cpu_count() + 1)
threads = _env("THREADS", 2)
worker_class = "gthread"
# Load the app once in the arbiter: a missing SECRET_KEY stops gunicorn at once with
# the ConfigError, instead of workers dying one after another.
preload_app = True
# A citizen's request never needs long; a stuck worker is killed and replaced.
timeout = _env("TIMEOUT", 30)
graceful_timeout = _env("GRACEFUL_TIMEOUT", 30)
# nginx keeps connections to us open (upstream keepalive).
keepalive = _env("KEEPALIVE", 15)
# Recycle workers now and then so that a slow leak never builds up.
max_requests = _env("MAX_REQUESTS", 5000)
max_requests_jitter = _env("MAX_REQUESTS_JITTER", 500)
# The heartbeat file on tmpfs: a slow disk must not make the arbiter kill healthy workers.
# gunicorn creates its heartbeat files there with mkstemp (private, unpredictable names).
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None  # noqa: S108
# Trust X-Forwarded-Proto only from nginx on this machine.
forwarded_allow_ips = _env("FORWARDED_ALLOW_IPS", "127.0.0.1")
accesslog = _env("ACCESSLOG", "-")
errorlog = "-"
loglevel = _env("LOGLEVEL", "info")
# The log keeps the client's address, so never a receipt code (/r/<code> is written /r/-) nor a
# query string (/thanks?n=<nonce> names a stored response): app/access_log.py redacts the atoms.
logger_class = "app.access_log.RedactingLogger"
access_log_format = '%(h)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms "%(a)s"'
proc_name = "sipas"
# No runtime control socket: systemd starts, reloads and stops us, and a socket in
# $HOME would be shared by every gunicorn of the same user (and ProtectHome hides it).
control_socket_disable = True


def when_ready(server):
    """In the arbiter, before the workers are forked: build what each worker's first citizen
    would otherwise wait for (app.services.collect.warmup), once for all of them."""
    from app.services.collect import warm_process

    versions = warm_process(server.app.wsgi())
    server.log.info("warmed the citizen templates and the report cells of %d versions", versions)
