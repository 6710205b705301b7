"""The two pieces under keraslite's gunicorn worker: a poller with one-shot interest, and a small thread pool.

Per request the event loop used to unregister a socket from the selector, submit a Future, wake up from its done
callback and register the socket again: on a batch-1 request that bookkeeping took as long as the app itself. Here
a connection is armed once for the next read or write (epoll's EPOLLONESHOT: one ``epoll_ctl`` per request), and
request threads hand results back through a queue, writing to the wake-up pipe only when the loop is not already
about to look at it.
"""
from __future__ import annotations

import os
import queue
import select
import selectors
import threading
from typing import Callable, List, Tuple

READ, WRITE = 1, 4  # the event bits poll() reports (epoll's EPOLLIN / EPOLLOUT values; the fallback uses them too)


class EpollPoller:
    """Linux: level-triggered watches for listeners and the wake-up pipe, one-shot arming for connections."""

    def __init__(self):
        self.epoll = select.epoll()
        self.armed = set()

    def watch(self, fd: int) -> None:
        self.epoll.register(fd, select.EPOLLIN)

    def unwatch(self, fd: int) -> None:
        self.epoll.unregister(fd)

    def arm(self, fd: int, write: bool = False) -> None:
        """Report ``fd`` once, when readable (or writable), then not again until armed again."""
        mask = (select.EPOLLOUT if write else select.EPOLLIN) | select.EPOLLONESHOT
        if fd in self.armed:
            self.epoll.modify(fd, mask)
        else:
            self.epoll.register(fd, mask)
            self.armed.add(fd)

    def forget(self, fd: int) -> None:
        """Before ``fd`` is closed (its number may be reused at once)."""
        if fd in self.armed:
            self.armed.discard(fd)
            try:
                self.epoll.unregister(fd)
            except OSError:
                pass

    def poll(self, timeout: float) -> List[Tuple[int, int]]:
        return self.epoll.poll(timeout)

    def close(self) -> None:
        self.epoll.close()


class SelectorPoller:
    """Elsewhere (macOS, BSD): the same interface over ``selectors``, one-shot by unregistering after an event."""

    def __init__(self):
        self.selector = selectors.DefaultSelector()
        self.oneshot = set()

    def watch(self, fd: int) -> None:
        self.selector.register(fd, selectors.EVENT_READ)

    def unwatch(self, fd: int) -> None:
        self.selector.unregister(fd)

    def arm(self, fd: int, write: bool = False) -> None:
        events = selectors.EVENT_WRITE if write else selectors.EVENT_READ
        if fd in self.oneshot:
            self.selector.modify(fd, events)
        else:
            self.selector.register(fd, events)
            self.oneshot.add(fd)

    def forget(self, fd: int) -> None:
        if fd in self.oneshot:
            self.oneshot.discard(fd)
            self.selector.unregister(fd)

    def poll(self, timeout: float) -> List[Tuple[int, int]]:
        ready = []
        for key, mask in self.selector.select(timeout):
            if key.fd in self.oneshot:
                self.forget(key.fd)
            ready.append((key.fd, (READ if mask & selectors.EVENT_READ else 0) |
                          (WRITE if mask & selectors.EVENT_WRITE else 0)))
        return ready

    def close(self) -> None:
        self.selector.close()


def make_poller():
    return EpollPoller() if hasattr(select, "epoll") else SelectorPoller()


class RequestThreads:
    """``count`` threads running ``job(*args)``; results come back through ``results()`` on the loop's thread."""

    def __init__(self, count: int, job: Callable, wake_fd: int):
        self.job, self.wake_fd = job, wake_fd
        self.todo, self.done = queue.SimpleQueue(), queue.SimpleQueue()
        self.woken = False
        self.threads = [threading.Thread(target=self._run, name=f"keraslite-request-{i}", daemon=True)
                        for i in range(count)]
        for thread in self.threads:
            thread.start()

    def submit(self, key, *args) -> None:
        self.todo.put((key, args))

    def _run(self) -> None:
        while True:
            item = self.todo.get()
            if item is None:
                return
            key, args = item
            try:
                result = self.job(*args)
            except BaseException as exc:  # noqa: BLE001 - handed to the loop, which logs it and closes
                result = exc
            self.done.put((key, result))  # before looking at ``woken``: see results()
            del item, args, result  # a finished request's body and answer must not wait here for the next job
            if not self.woken:
                self.woken = True
                try:
                    os.write(self.wake_fd, b".")
                except OSError:  # the pipe is full: the loop is about to read it anyway
                    pass

    def results(self):
        """``(key, result or exception)`` of every finished job; call when the wake-up pipe is readable."""
        self.woken = False  # cleared before draining: a result put after this either is seen below or wakes us
        out = []
        while True:
            try:
                out.append(self.done.get_nowait())
            except queue.Empty:
                return out

    def stop(self) -> None:
        for _ in self.threads:
            self.todo.put(None)
