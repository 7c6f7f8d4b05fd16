"""OSC over UDP: parameters in on ``/explorer/<address>``, current values and a beat pulse out.

``OscInput`` binds 127.0.0.1 unless another host is given (listening on a network is an explicit
choice) and reads datagrams on a thread of its own. A message to ``/explorer/<address>`` with one
argument (two integers for a row range) sets that registry parameter; any other address is a *source*
(``osc/1/fader1``) that mappings and learn can use, so a controller app works without reconfiguring it.
Packets are parsed with python-osc's parser (data only: nothing is evaluated); damaged ones are counted.
"""

from __future__ import annotations

import socket
import threading
import time
from typing import Any, Callable

from explorer.control.hub import ControlHub
from explorer.errors import UsageError

PREFIX = "/explorer/"
PULSE_ADDRESS = "/explorer/beat"
LOOP_ADDRESS = "/explorer/loop"  # the timeline preview starts a cycle
DEFAULT_HOST = "127.0.0.1"
MAX_DATAGRAM = 65535
RECEIVE_BUFFER = 1 << 20  # bytes the system may queue for us (it caps this): absorbs a burst of messages
POLL_S = 0.2  # how often the reader looks up from the socket to see whether it should stop


def check_port(port: Any, any_free: bool = False) -> int:
    """A UDP port number; with ``any_free``, 0 (the system picks a free one) too."""
    low = 0 if any_free else 1
    if isinstance(port, bool) or not isinstance(port, int) or not low <= port <= 65535:
        raise UsageError(f"an OSC port must be {low}..65535, got {port!r}")
    return port


def _pythonosc():
    try:
        from pythonosc import osc_packet, udp_client
    except ImportError:
        raise UsageError("OSC needs python-osc (pip install 'stylegan-explorer[live]')") from None
    return osc_packet, udp_client


def param_address(osc_address: str) -> str | None:
    """The registry address an OSC address names (``/explorer/mix/3`` -> ``mix/3``), else None."""
    return osc_address[len(PREFIX):] if osc_address.startswith(PREFIX) else None


class OscInput:
    """Listens on ``host:port`` and pushes every message into ``hub`` until ``close``."""

    def __init__(self, hub: ControlHub, port: int, host: str = DEFAULT_HOST,
                 clock: Callable[[], float] = time.monotonic):
        self._packet, _ = _pythonosc()
        self.hub = hub
        self.clock = clock
        self.host, self.port = host, check_port(port, any_free=True)
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER)
        try:
            self._socket.bind((host, self.port))
        except OSError as exc:
            self._socket.close()
            raise UsageError(f"OSC {host}:{port}: cannot listen ({exc.strerror or exc})") from None
        self.port = self._socket.getsockname()[1]
        self._socket.settimeout(POLL_S)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read, name=f"osc-in-{self.port}", daemon=True)
        self._thread.start()

    def _read(self) -> None:
        while not self._stop.is_set():
            try:
                data, _ = self._socket.recvfrom(MAX_DATAGRAM)
            except socket.timeout:
                continue
            except OSError:  # the socket was closed
                return
            self.handle_datagram(data)

    def handle_datagram(self, data: bytes) -> None:
        now = self.clock()
        try:
            messages = [timed.message for timed in self._packet.OscPacket(data).messages]
        except Exception:  # noqa: BLE001 - python-osc raises several kinds on damaged data; all are a rejection
            self.hub.reject("osc", now)
            return
        for message in messages:
            self.handle_message(message.address, list(message.params), now)

    def handle_message(self, address: str, args: list, now: float) -> None:
        value = args[0] if len(args) == 1 else tuple(args) if len(args) == 2 else None
        target = param_address(address)
        if target is not None:
            self.hub.push_param(target, value, now, origin="osc")
        else:
            self.hub.push_source("osc" + address, value, now, origin="osc")

    def close(self) -> None:
        self._stop.set()
        self._socket.close()
        self._thread.join(timeout=2 * POLL_S + 1)


class OscOutput:
    """Sends values to ``host:port`` (another app, a lighting desk): ``/explorer/<address> value``."""

    def __init__(self, port: int, host: str = DEFAULT_HOST):
        _, udp_client = _pythonosc()
        self.host, self.port = host, check_port(port)
        self._client = udp_client.SimpleUDPClient(host, self.port)

    def send(self, address: str, value: Any) -> None:
        if isinstance(value, tuple):
            value = list(value)
        elif value is None:
            value = "off"
        try:
            self._client.send_message(PREFIX + address, value)
        except OSError:  # nobody listening, network down: output is best effort
            pass

    def send_values(self, values: dict[str, Any]) -> None:
        for address, value in values.items():
            self.send(address, value)

    def pulse(self, count: int, address: str = PULSE_ADDRESS) -> None:
        """A counter message: each beat (``/explorer/beat``) or each loop of the timeline (``/explorer/loop``)."""
        try:
            self._client.send_message(address, int(count))
        except OSError:
            pass
