"""Tests never reach the internet: pytest-socket blocks every connection but loopback, for every test."""

from __future__ import annotations

import socket

import pytest
import pytest_socket


@pytest.mark.filterwarnings("ignore::UserWarning:pytest_socket")
def test_a_connection_to_a_public_address_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    # Should the guard ever let the call through, it lands here instead of on the network.
    def dial_out(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("the socket guard let a non-loopback connection through")

    monkeypatch.setattr(pytest_socket, "_true_connect", dial_out)
    with (
        socket.socket(socket.AF_INET, socket.SOCK_STREAM) as client,
        pytest.raises(pytest_socket.SocketConnectBlockedError),
    ):
        client.connect(("192.0.2.10", 443))  # TEST-NET-1, a documentation address


def test_loopback_stays_reachable() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        with socket.create_connection(server.getsockname(), timeout=2) as client:
            accepted, _ = server.accept()
            with accepted:
                client.sendall(b"ping")
                assert accepted.recv(4) == b"ping"
