"""A batch's rows painted side by side by Ray workers, on this machine or a cluster.

Each worker is a Ray actor holding one engine (`Painter`), so the network loads once per
worker and a painting's targets are reused across the photographs that worker paints. On a
cluster with GPUs there is one worker per GPU (`num_gpus=1`); without, one per `threads`
CPUs of a machine (default 1), as many as the cluster's machines hold. The driver (the
process that called `paint_batch`) hands each idle worker the next row and writes what comes
back, so outputs and results.jsonl are written in one place, atomically (batch.py). A worker
that dies, or whose machine does, has its row handed to another (a new worker takes its
place), up to `RETRIES` times; a worker that cannot start (bad weights, no GPU) stops the
batch with its reason.

The workers read the photographs, paintings, masks and weights by their absolute paths: on a
cluster of several machines these must be where every machine sees them (the outputs are
written by the driver).
"""

from __future__ import annotations

import logging
import socket
import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

from .batch import Engine, Outcome, Row, first_line, paint_row
from .errors import ImpastoError, SettingError
from .painter import Cancel

RETRIES = 2  # how many times a row whose worker died is handed to another
CONNECT_SECONDS = 5  # how long a cluster's address may take to answer


class Worker:
    """One engine in a Ray actor (see the module's description)."""

    def __init__(self, engine: Engine) -> None:
        import torch

        if engine.threads is not None:
            torch.set_num_threads(engine.threads)
        self.engine = engine
        self.painter = engine.painter().load()

    def paint(self, row: Row) -> Outcome:
        return paint_row(self.painter, row, self.engine)


def paint_on_ray(rows: Sequence[Row], engine: Engine, cluster: str, workers: int | None,
                 finish: Callable[[Outcome], None], cancel: Cancel | None = None) -> None:  # fmt: skip
    """Paint `rows` on the Ray cluster at `cluster` ("local": start one on this machine; the
    cluster this process is connected to already, if it is), handing each outcome to `finish`
    as it arrives."""
    try:
        import ray
        from ray import exceptions
    except ImportError:
        raise ImpastoError("painting on a Ray cluster needs Ray: pip install 'impasto[ray]'") from None
    if not rows:
        return
    started_here = not ray.is_initialized()
    if started_here:
        _check_reachable(cluster)
        try:
            ray.init(address=cluster, include_dashboard=False, logging_level=logging.WARNING,
                     log_to_driver=False)  # fmt: skip
        except (ConnectionError, ValueError, RuntimeError) as error:
            message = first_line(error)
            raise SettingError("cluster", f"{cluster!r}: no Ray cluster to reach there ({message})") from None
    actors: list[Any] = []
    try:
        options, count = _workers(ray.nodes(), engine, workers)
        actor = ray.remote(max_restarts=0, **options)(Worker)

        def start() -> Any:
            actors.append(actor.remote(engine))
            return actors[-1]

        idle = deque(start() for _ in range(min(count, len(rows))))
        waiting = deque(rows)
        tries: dict[int, int] = {}
        running: dict[Any, tuple[Any, Row]] = {}  # the call -> its worker and row
        while waiting or running:
            while idle and waiting:
                worker, row = idle.popleft(), waiting.popleft()
                running[worker.paint.remote(row)] = (worker, row)
            if not running:  # rows left and no worker: every one died and none could start again
                for row in waiting:
                    finish(Outcome(row, error="no Ray worker was left to paint it", status="failed"))
                return
            ready, _ = ray.wait(list(running), num_returns=1, timeout=0.5)
            if cancel is not None and cancel.is_set():
                raise KeyboardInterrupt
            for call in ready:
                worker, row = running.pop(call)
                try:
                    outcome = ray.get(call)
                except exceptions.RayTaskError as error:  # the painting code raised: this row failed
                    outcome = Outcome(row, error=first_line(error.cause or error), status="failed")
                    idle.append(worker)
                except exceptions.RayError as error:  # the worker or its machine died
                    if isinstance(error, exceptions.RayActorError) and error.actor_init_failed:
                        raise ImpastoError(f"a Ray worker could not start: {_reason(error)}") from None
                    tries[row.number] = tries.get(row.number, 0) + 1
                    ray.kill(worker)
                    if _room_for(options, ray):  # a machine that died takes its room with it
                        idle.append(start())
                    if tries[row.number] <= RETRIES:
                        waiting.appendleft(row)
                        continue
                    outcome = Outcome(row, error=f"its worker died {tries[row.number]} times "
                                      f"({type(error).__name__})", status="failed")  # fmt: skip
                else:
                    idle.append(worker)
                finish(outcome)
    finally:
        if started_here:
            ray.shutdown()
        else:  # leave the cluster as it was: no worker of ours left painting
            for worker in actors:
                ray.kill(worker)


def _workers(nodes: list[dict[str, Any]], engine: Engine, most: int | None) -> tuple[dict[str, Any], int]:
    """Each worker's resources and how many fit: one per GPU, else one per `threads` CPUs of
    a machine."""
    alive = [node["Resources"] for node in nodes if node.get("Alive")]
    gpus = sum(int(resources.get("GPU", 0)) for resources in alive)
    if engine.device == "cuda" and not gpus:
        raise SettingError("device", "is cuda, and the Ray cluster has no GPU")
    if gpus and engine.device in ("auto", "cuda"):
        options, fit = {"num_gpus": 1, "num_cpus": 1}, gpus
    else:
        per_worker = engine.threads or 1
        fit = sum(int(resources.get("CPU", 0)) // per_worker for resources in alive)
        if fit < 1:
            raise SettingError("threads", f"is {per_worker} per worker, more CPUs than any machine of "
                               "the Ray cluster has")  # fmt: skip
        options = {"num_cpus": per_worker}
    return options, min(fit, most or fit)


def _room_for(options: dict[str, Any], ray: Any, seconds: float = 10.0) -> bool:
    """Whether the cluster has room for one more worker, waiting up to `seconds` for what a
    dead worker held to be given back."""
    wanted = {"CPU": options.get("num_cpus", 0), "GPU": options.get("num_gpus", 0)}
    deadline = time.monotonic() + seconds
    while True:
        free = ray.available_resources()
        if all(free.get(name, 0) >= amount for name, amount in wanted.items() if amount):
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)


def _check_reachable(address: str) -> None:
    """Refuse at once an address (host:port, or ray://host:port) where nothing answers, rather
    than let Ray try to connect for minutes."""
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if address in ("local", "auto") or not host or not port.isdigit():
        return  # Ray's own check says what is wrong with it
    try:
        socket.create_connection((host, int(port)), timeout=CONNECT_SECONDS).close()
    except OSError as error:
        reason = error.strerror or str(error)
        raise SettingError("cluster", f"{address!r}: nothing answers there ({reason})") from None


def _reason(error: Exception) -> str:
    """The last line that says something in a Ray error's long message (the cause's own)."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return lines[-1] if lines else type(error).__name__
