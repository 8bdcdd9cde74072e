"""A webhook attempt's timeout bounds the whole attempt, not each socket read: a receiver that
trickles its answer cannot hold the delivery function (and the other jobs of its batch) past it."""

import socket
import threading
import time

from tokensmith.webhooks import egress


def trickling_receiver(seconds: float) -> tuple[int, threading.Thread]:
    """Answers the status line at once, then one header byte every 0.2 s for ``seconds``."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)

    def serve() -> None:
        connection, _ = server.accept()
        with connection, server:
            connection.recv(65536)
            try:
                connection.sendall(b"HTTP/1.1 200 OK\r\n")
                ends = time.monotonic() + seconds
                while time.monotonic() < ends:
                    connection.sendall(b"X")
                    time.sleep(0.2)
                connection.sendall(b": y\r\nContent-Length: 0\r\n\r\n")
            except OSError:
                pass  # the client hung up: what the deadline is for

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return server.getsockname()[1], thread


def test_a_trickling_receiver_is_cut_off_at_the_attempts_timeout():
    # Given a receiver that would take 5 s to finish its headers, each byte well inside a 1 s read timeout
    port, thread = trickling_receiver(5.0)
    target = egress.Target("http", "127.0.0.1", port, "/hook", "127.0.0.1")

    # When an attempt with a 1 s timeout posts to it
    started = time.monotonic()
    answer = egress.post(target, {}, b"{}", timeout=1.0)
    elapsed = time.monotonic() - started

    # Then it ends after about 1 s, as a failure that says why
    assert elapsed < 2.5
    assert answer.status is None and answer.error == "DeadlineExceeded"
    thread.join(timeout=10)


def test_a_prompt_receiver_is_answered_normally():
    port, thread = trickling_receiver(0.0)
    answer = egress.post(egress.Target("http", "127.0.0.1", port, "/", "127.0.0.1"), {}, b"{}", timeout=5.0)
    assert (answer.status, answer.error) == (200, None)
    thread.join(timeout=10)


def test_site_local_ipv6_is_not_public():
    assert not egress.is_public("fec0::1")
    assert egress.is_public("2606:2800:220:1:248:1893:25c8:1946")
