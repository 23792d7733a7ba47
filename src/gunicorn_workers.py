"""The business API's gunicorn workers: gunicorn's gevent and gthread, closing idle keep-alive connections on stop."""

from __future__ import annotations

import socket

import gevent
import gevent.monkey
from gunicorn.workers import ggevent, gthread

# On SIGTERM (a stop, or a reload's old workers) gunicorn 23 stops accepting and lets requests and streams in flight
# finish (graceful_timeout), but has no setting for idle keep-alive connections: the gevent worker waits for each
# to reach its keepalive timeout (75 s here; the proxy's pool drops its own after 30 s) before it exits, and the
# gthread worker stops polling them, so a request a client sends on one meanwhile hangs until the worker exits.
# Both workers below end them at once; only what is in flight still holds a stopping worker.


# gevent's own socket.shutdown() wakes the reader with an EBADF error, which gunicorn logs with a traceback; the
# plain socket's only shuts the connection, and the reader sees the end of the stream (logged at debug level).
_PlainSocket = gevent.monkey.get_original("socket", "socket")


def _shut(client: socket.socket, how: int) -> None:
    plain = _PlainSocket(fileno=client.fileno())
    try:
        plain.shutdown(how)
    except OSError:
        pass  # the client has gone already
    finally:
        plain.detach()  # the connection stays its handler's to close


class _IdleWait:
    """gevent's keep-alive timeout around one wait for a connection's next request, known to the worker."""

    def __init__(self, worker: "GeventWorker", client: socket.socket, timeout: gevent.Timeout):
        self.worker, self.client, self.timeout = worker, client, timeout

    def __enter__(self):
        self.worker.waiting.add(self.client)
        if not self.worker.alive:  # a connection accepted just before the stop waits for no later request
            _shut(self.client, socket.SHUT_RD)
        return self.timeout.__enter__()

    def __exit__(self, *exc):
        self.worker.waiting.discard(self.client)
        return self.timeout.__exit__(*exc)


class GeventWorker(ggevent.GeventWorker):
    """Each connection has its greenlet; one waiting for a request is ended by shutting its reading side: a request
    already received is still read and answered (with Connection: close, the worker no longer being alive);
    otherwise the greenlet reads the end of the stream and closes the connection."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.clients: dict = {}  # handler greenlet → its connection
        self.waiting: set = set()  # connections waiting for their next request

    def handle(self, listener, client, addr):
        me = gevent.getcurrent()
        self.clients[me] = client
        try:
            super().handle(listener, client, addr)
        finally:
            del self.clients[me]

    def timeout_ctx(self):
        # AsyncWorker.handle calls it only around the wait for a connection's next request.
        return _IdleWait(self, self.clients[gevent.getcurrent()], super().timeout_ctx())

    def handle_exit(self, sig, frame):
        super().handle_exit(sig, frame)
        for client in list(self.waiting):  # shutdown() never blocks: safe in a signal handler
            _shut(client, socket.SHUT_RD)


class ThreadWorker(gthread.ThreadWorker):
    """Idle connections wait in the worker's poller (`_keep`, gunicorn 23's own list of them), which its main loop
    leaves on SIGTERM; they are shut both ways, so the client sees the close even if the loop never polls again."""

    def handle_exit(self, sig, frame):
        super().handle_exit(sig, frame)
        for conn in list(self._keep):  # a copy: finish_request adds to it from the pool's threads
            _shut(conn.sock, socket.SHUT_RDWR)
