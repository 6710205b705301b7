"""Run the app under gunicorn (keraslite's own worker class, ``worker.KerasliteWorker``) through gunicorn's
application API, or Flask's dev server.

Threads: each worker answers ``threads`` requests at a time, and inside one predict the numeric libraries (Numba,
OpenBLAS, OpenMP) could start threads of their own. With W workers on C cores, the launcher gives each worker
``max(1, C // W)`` numeric threads (OMP_NUM_THREADS, OPENBLAS_NUM_THREADS, MKL_NUM_THREADS, NUMBA_NUM_THREADS, set
before numpy is imported unless the user set them), so W x numeric threads <= C: the cores are never
oversubscribed by compute, while the request threads mostly wait on sockets and JSON.

Two request threads per worker by default: JSON decoding and validation hold the GIL, so a third or fourth thread
only queues behind it. Measured with wrk under gthread (8 connections, batch-1 demo MLP, 2 workers, 2 cores):
4 threads gave p99 21-25 ms, 2 threads 11-12 ms. Slow clients no longer hold a thread (the worker's event loop
reads requests and writes answers), so the threads are only for running the app.

The master owns two things its workers must not touch: the listening socket (bound here, before the banner, and
handed to gunicorn as ``fd://``) and the Prometheus multiprocess folder (removed only by the master, at its exit;
workers are forks of this process, and their exits unwind through ``serve`` too).
"""
from __future__ import annotations

import errno
import os
import shutil
import socket
import tempfile
from typing import Dict, Optional

from . import worker
from .config import ServerConfig

THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")
DEFAULT_THREADS = 2
GRACEFUL_SECONDS = 30


def usable_cores() -> int:
    """Cores this process may run on (the CPU affinity mask, which containers narrow), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS, Windows
        return max(1, os.cpu_count() or 1)


def default_workers(cores: Optional[int] = None) -> int:
    """One worker per core, at most 8: a worker is one Python process (one GIL, one copy of the models)."""
    return min(cores or usable_cores(), 8)


def limit_numeric_threads(workers: int, cores: Optional[int] = None) -> int:
    """Set the numeric libraries' thread counts so ``workers`` x threads fit the cores; returns threads per worker."""
    per_worker = max(1, (cores or usable_cores()) // max(1, workers))
    for var in THREAD_VARS:
        os.environ.setdefault(var, str(per_worker))
    return int(os.environ.get("NUMBA_NUM_THREADS", per_worker))


def _worker_ready(worker) -> None:
    worker.log.info("keraslite worker %s ready: models loaded and warmed up", worker.pid)


def _server_ready(server) -> None:
    server.log.info("keraslite: metrics of all workers are gathered in %s", os.environ.get("PROMETHEUS_MULTIPROC_DIR"))


def _child_exit(server, worker) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def make_gunicorn_app(models: Dict[str, str], config: ServerConfig, options: Dict):
    """A gunicorn BaseApplication whose workers each build (load, warm up) the Flask app before serving."""
    from gunicorn.app.base import BaseApplication

    class KerasliteApplication(BaseApplication):
        def load_config(self):
            for key, value in options.items():
                self.cfg.set(key, value)
            if "control_socket_disable" in self.cfg.settings:
                # gunicorn >= 25 opens a control socket in $HOME; two servers would fight over it.
                self.cfg.set("control_socket_disable", True)

        def load(self):
            from .app import create_app

            return create_app(models, config)

    return KerasliteApplication()


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port``; a one-line ServerConfigError when the port is taken.

    The launcher binds before the banner and hands the socket to gunicorn (``fd://``), so "port in use" is known
    before anything is printed and no other process can take the port in between.
    """
    from .config import ServerConfigError

    try:
        family, kind, proto, _, address = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM,
                                                             flags=socket.AI_PASSIVE)[0]
    except socket.gaierror as exc:
        raise ServerConfigError(f"cannot listen on host {host!r}: {exc.strerror}") from None
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise ServerConfigError(f"port {port} on {host} is already in use; stop the other server or choose "
                                    f"another --port") from None
        raise ServerConfigError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    return sock


def serve(models: Dict[str, str], host: str = "127.0.0.1", port: int = 8501, workers: Optional[int] = None,
          threads: Optional[int] = None, max_body_mb: float = 32.0, dev: bool = False,
          log_level: str = "info", max_batch: int = 0, header_timeout: float = 10.0,
          body_timeout: float = 30.0) -> int:
    """Serve ``models`` ({name: path}) until SIGTERM/SIGINT; returns the exit status.

    Example::

        serve({"digits": "digits.h5"}, port=8501, workers=2)
    """
    cores = usable_cores()
    workers = workers or default_workers(cores)
    threads = threads or DEFAULT_THREADS
    if workers < 1 or threads < 1:
        from .config import ServerConfigError

        raise ServerConfigError(f"--workers and --threads must be at least 1, got {workers} and {threads}")
    listener = bind_socket(host, port)
    if not dev:
        limit_numeric_threads(workers, cores)
    config = ServerConfig(max_body_mb=max_body_mb, max_batch=max_batch)

    # Load every model once here, before any worker starts: a bad file stops with a clear message (exit 1)
    # instead of workers failing to boot one after another; it also gives the banner the input shapes.
    from .banner import banner
    from .models import ModelStore

    try:
        store = ModelStore(models, warmup=dev)
    except BaseException:
        listener.close()
        raise
    how = "Flask development server" if dev else f"gunicorn, {workers} worker(s) x {threads} thread(s)"
    print(banner(list(store.models.values()), host, port, how), flush=True)

    if dev:
        from .app import create_app

        app = create_app({name: m.model for name, m in store.models.items()}, config)
        listener.close()  # Flask's server binds by itself
        app.run(host=host, port=port, threaded=True)
        return 0
    del store

    metrics_dir = tempfile.mkdtemp(prefix="keraslite-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir  # before any worker imports prometheus_client
    os.environ[worker.HEADER_TIMEOUT_ENV] = repr(float(header_timeout))
    os.environ[worker.BODY_TIMEOUT_ENV] = repr(float(body_timeout))
    options = {
        "bind": f"fd://{listener.detach()}",  # gunicorn adopts (and later closes) the descriptor
        "workers": workers, "threads": threads, "worker_class": "keraslite.server.worker.KerasliteWorker",
        "graceful_timeout": GRACEFUL_SECONDS, "timeout": 120, "keepalive": 5,
        "loglevel": log_level, "errorlog": "-", "accesslog": None,
        "post_worker_init": _worker_ready, "when_ready": _server_ready, "child_exit": _child_exit,
        "proc_name": "keraslite-serve",
    }
    master = os.getpid()
    try:
        make_gunicorn_app(models, config, options).run()
    except SystemExit as exc:
        if os.getpid() != master:
            raise  # a worker leaving: let it go without touching what the master owns
        return int(exc.code or 0) if not isinstance(exc.code, str) else 1
    finally:
        # Workers are forks of this process: their exits unwind through here too. Only the master, at its own
        # exit, may remove the metrics folder every worker writes to.
        if os.getpid() == master:
            shutil.rmtree(metrics_dir, ignore_errors=True)
    return 0
