"""Plain-HTTP probes the end-to-end and container tests share: is a URL answering, and an idle keep-alive connection."""

from __future__ import annotations

import http.client
import urllib.request


def answers(url: str) -> bool:
    """True when a GET of `url` answers 200 within 5 s; False while nothing listens or it answers otherwise."""
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status == 200
    except OSError:
        return False


def idle_connection(port: int) -> http.client.HTTPConnection:
    """A keep-alive connection to 127.0.0.1:port that has had its answer and waits for a next request that never
    comes."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request("GET", "/health")
    response = connection.getresponse()
    response.read()
    assert response.status == 200 and not response.will_close
    return connection
