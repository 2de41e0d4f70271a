"""Gunicorn settings of the web app, for `make run` (ops/runner.py) and bench/http_load.py.

    gunicorn -c gunicorn.conf.py 'app:create_app()'

Gunicorn also reads this file by itself when started from the project directory without
-c. Options on the command line win over these. The environment sets:

    PORT          port to listen on, on every interface (5000)
    WEB_WORKERS   worker processes (2)
    WEB_THREADS   threads per worker (4)
    WEB_TIMEOUT   seconds a silent worker may take before it is restarted (30); also the
                  longest a database statement of a request may run (DB_STATEMENT_TIMEOUT,
                  when not set otherwise): a worker's threads keep it alive while one of them
                  waits, so nothing else would stop a runaway statement

Threads always run in the gthread worker, also with WEB_THREADS=1, so that settings can be
compared with one another (the sync worker would also drop keep-alive connections).
"""

import importlib.util
import os


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else default


bind = f"0.0.0.0:{_env_int('PORT', 5000)}"
workers = _env_int("WEB_WORKERS", 2)
# Two workers for two cores; four threads each, so that a worker keeps answering while some of
# its requests wait on the database (bench/README.md, "Choosing workers and threads").
threads = _env_int("WEB_THREADS", 4)
worker_class = "gthread"
timeout = _env_int("WEB_TIMEOUT", 30)
# Read by the app in each worker (config/settings.py); the workers inherit this process's environment.
os.environ.setdefault("DB_STATEMENT_TIMEOUT", str(timeout))
graceful_timeout = 5
accesslog = "-"

# Newer gunicorn opens a control socket at one fixed path in $HOME, which a second
# instance on the machine would take over; this app has no use for it.
if importlib.util.find_spec("gunicorn.ctl"):
    control_socket_disable = True
