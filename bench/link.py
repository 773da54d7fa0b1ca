"""A TCP relay that adds a fixed one-way delay: a WAN link for benchmarks on a machine without netem.

On 127.0.0.1 a connection test is pure CPU; a real mail server is tens of
milliseconds away, and what a concurrent prober must do is overlap those
waits. The relay runs in its own process, forwards every chunk unchanged
and in order, and delivers it `rtt / 2` after it arrived, in each direction
— latency without a bandwidth cap, as netem's `delay` would.

    link = Link({"smtp": 2525, "imap": 1143}, rtt_ms=40).start()
    link.ports["smtp"]  # connect here instead of 2525
    link.stop()
"""

from __future__ import annotations

import asyncio
import multiprocessing as mp
import time


async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delay: float) -> None:
    queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

    async def deliver() -> None:
        while True:
            due, chunk = await queue.get()
            wait = due - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            if not chunk:
                break
            writer.write(chunk)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()

    sender = asyncio.create_task(deliver())
    try:
        while chunk := await reader.read(65536):
            queue.put_nowait((time.monotonic() + delay, chunk))
    except OSError:
        pass
    queue.put_nowait((time.monotonic() + delay, b""))
    try:
        await sender
    except OSError:
        pass  # the other side went first: nothing left to deliver


async def _serve(targets: dict[str, int], rtt_ms: float, ready: mp.Queue) -> None:
    delay = rtt_ms / 2000

    def handler(port: int):
        async def relay(c_reader: asyncio.StreamReader, c_writer: asyncio.StreamWriter) -> None:
            # The connect itself costs one round trip, as a SYN/SYN-ACK would.
            await asyncio.sleep(2 * delay)
            try:
                s_reader, s_writer = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                c_writer.close()
                return
            await asyncio.gather(_pump(c_reader, s_writer, delay), _pump(s_reader, c_writer, delay))
            for w in (c_writer, s_writer):
                w.close()
        return relay

    ports = {}
    servers = []
    for name, port in targets.items():
        server = await asyncio.start_server(handler(port), "127.0.0.1", 0, backlog=1024)
        servers.append(server)
        ports[name] = server.sockets[0].getsockname()[1]
    ready.put(ports)
    await asyncio.Event().wait()


def _run(targets: dict[str, int], rtt_ms: float, ready: mp.Queue) -> None:
    asyncio.run(_serve(targets, rtt_ms, ready))


class Link:
    def __init__(self, targets: dict[str, int], rtt_ms: float) -> None:
        self.targets, self.rtt_ms = targets, rtt_ms
        self.ports: dict[str, int] = {}
        self._proc: mp.Process | None = None

    def start(self) -> "Link":
        ready: mp.Queue = mp.Queue()
        self._proc = mp.Process(target=_run, args=(self.targets, self.rtt_ms, ready), daemon=True)
        self._proc.start()
        self.ports = ready.get(timeout=30)
        return self

    def stop(self) -> None:
        if self._proc:
            self._proc.terminate()
            self._proc.join(10)
