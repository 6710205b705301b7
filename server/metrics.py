"""Prometheus metrics: requests by model, endpoint and status; request and inference latency.

Under gunicorn the launcher sets PROMETHEUS_MULTIPROC_DIR before the workers start, so every worker writes its
samples to files there and ``/metrics`` (answered by any one worker) adds up all of them. Without that variable
(the Flask test client, ``--dev``) each app gets its own registry.
"""
from __future__ import annotations

import logging
import os

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
log = logging.getLogger("keraslite.server")
BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


def multiprocess_dir():
    """The multiprocess directory when prometheus-client runs in multiprocess mode, else None."""
    return os.environ.get(MULTIPROC_ENV) or os.environ.get(MULTIPROC_ENV.lower()) or None


class Metrics:
    """The server's metric families, bound to a per-app registry or to the multiprocess directory."""

    def __init__(self):
        self.multiprocess = multiprocess_dir() is not None
        # In multiprocess mode the samples live in files; the metric objects need not be registered anywhere.
        self.registry = None if self.multiprocess else CollectorRegistry()
        self.requests = Counter(
            "keraslite_requests", "HTTP requests answered, by model, endpoint and status code.",
            ["model", "endpoint", "status"], registry=self.registry)
        self.request_latency = Histogram(
            "keraslite_request_duration_seconds", "Time to answer an HTTP request, reading and writing JSON included.",
            ["model", "endpoint"], buckets=BUCKETS, registry=self.registry)
        self.inference_latency = Histogram(
            "keraslite_inference_duration_seconds", "Time spent in the model's predict.",
            ["model"], buckets=BUCKETS, registry=self.registry)

        # labels() costs a lock and a dict build per call; the label sets are few, so keep their children.
        self._children = {}
        self.broken = None  # why recording failed last, when it did

    def _child(self, key, make):
        child = self._children.get(key)
        if child is None:
            child = self._children.setdefault(key, make())
        return child

    def observe_request(self, model: str, endpoint: str, status: int, seconds: float) -> None:
        try:
            count, latency = self._child(("request", model, endpoint, status), lambda: (
                self.requests.labels(model, endpoint, str(status)), self.request_latency.labels(model, endpoint)))
            count.inc()
            latency.observe(seconds)
        except OSError as exc:
            self._failed(exc)

    def observe_inference(self, model: str, seconds: float) -> None:
        try:
            self._child(("inference", model), lambda: self.inference_latency.labels(model)).observe(seconds)
        except OSError as exc:
            self._failed(exc)

    def _failed(self, exc: OSError) -> None:
        """A metric could not be recorded (its multiprocess file is gone): answers go on, readiness says so."""
        if self.broken is None:
            log.error("keraslite: cannot record metrics (%s); /v2/health/ready now answers 503", exc)
        self.broken = f"{type(exc).__name__}: {exc}"

    def problem(self):
        """Why metrics cannot be recorded or exposed, or None when they can."""
        if self.multiprocess and not os.path.isdir(multiprocess_dir()):
            return f"the metrics folder {multiprocess_dir()} ({MULTIPROC_ENV}) is missing"
        return self.broken

    def exposition(self):
        """``(body, content type)`` of the Prometheus text format, summed over all workers when multiprocess."""
        if self.multiprocess:
            from prometheus_client import multiprocess

            problem = self.problem()
            if problem:
                raise RuntimeError(problem)

            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
            return generate_latest(registry), CONTENT_TYPE_LATEST
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
