"""A real multi-node Ray cluster on this machine, for tests and benchmarks of node loss.

Each node is a ``ray start --block`` process in its own process group with its own temp dir and
free ports, so one node can be killed (its raylet and workers, SIGKILL to the group) while the
rest runs on, and the whole cluster is ended by killing only the groups it started (never
``ray stop``, which ends every Ray on the machine, other people's included).

    with LocalCluster() as cluster:        # head: 1 CPU
        cluster.add_node()                 # second node: 1 CPU, resource {"node2": 1}
        ex = RayExecutor(address=cluster.address, ...)
        ...
        cluster.kill_node(1)
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from rankify_lite.errors import InputError

# a dead node is noticed within ~2 s instead of the default ~30 s; no token authentication (a
# throw-away cluster on 127.0.0.1: the driver in this process could not connect without it)
NODE_ENV = {"RAY_health_check_period_ms": "500", "RAY_health_check_timeout_ms": "500",
            "RAY_health_check_failure_threshold": "3", "RAY_AUTH_MODE": "disabled"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LocalCluster:
    """``ray start`` nodes on 127.0.0.1; ``nodes[0]`` is the head."""

    def __init__(self, num_cpus: int = 1, root: str | Path | None = None) -> None:
        os.environ.setdefault("RAY_AUTH_MODE", "disabled")  # this process's driver, see NODE_ENV
        self.root = Path(root or tempfile.mkdtemp(prefix="rk-ray-"))
        self.root.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.nodes: list[subprocess.Popen] = []
        self.killed: set[int] = set()
        self._start(["--head", f"--port={self.port}", f"--num-cpus={num_cpus}",
                     "--include-dashboard=false"])
        try:
            self.wait_for(1)
        except BaseException:
            self.close()
            raise

    def _start(self, args: list[str]) -> None:
        n = len(self.nodes)
        temp = self.root / f"n{n}"  # short: Ray's socket paths must stay < 108 characters
        temp.mkdir(exist_ok=True)
        ray_bin = str(Path(sys.executable).with_name("ray"))
        cmd = [ray_bin if os.path.exists(ray_bin) else "ray", "start", "--block",
               "--node-ip-address=127.0.0.1", f"--temp-dir={temp}",
               f"--dashboard-agent-listen-port={free_port()}", "--disable-usage-stats", *args]
        log = open(self.root / f"node{n}.log", "wb")  # noqa: SIM115 (kept open for the node)
        self.nodes.append(subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                                           start_new_session=True,
                                           env={**os.environ, **NODE_ENV}))

    def add_node(self, num_cpus: int = 1, resources: dict[str, float] | None = None) -> int:
        """Start one more node (default resource ``{"node<N>": 1}``); returns its index."""
        import json

        n = len(self.nodes)
        res = resources if resources is not None else {f"node{n + 1}": 1}
        self._start([f"--address={self.address}", f"--num-cpus={num_cpus}",
                     f"--resources={json.dumps(res)}"])
        self.wait_for(len(self.nodes) - len(self.killed))
        return n

    def alive(self) -> int:
        """How many nodes the cluster's control store reports alive."""
        try:
            out = subprocess.run(
                [sys.executable, "-c", "import ray,sys; ray.init(address=sys.argv[1], "
                 "log_to_driver=False); print('ALIVE', sum(n['Alive'] for n in ray.nodes()))",
                 self.address], capture_output=True, text=True, timeout=30)
        except subprocess.TimeoutExpired:
            return -1
        # Ray may print its own warnings (lagging heartbeats, ...) on stdout: read our line only
        counts = [line.split()[1] for line in out.stdout.splitlines() if line.startswith("ALIVE ")]
        return int(counts[-1]) if out.returncode == 0 and counts else -1

    def wait_for(self, count: int, timeout: float = 90) -> None:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            for i, p in enumerate(self.nodes):
                if i not in self.killed and p.poll() is not None:
                    log = (self.root / f"node{i}.log").read_text(errors="replace")[-400:]
                    raise InputError(f"ray node {i} exited ({p.returncode}): "
                                     f"{' '.join(log.split())}", fix="see the node's log.")
            if self.alive() == count:
                return
            time.sleep(0.5)
        raise InputError(f"the Ray cluster did not reach {count} nodes in {timeout:.0f} s.",
                         fix=f"see the logs in {self.root}.")

    def kill_node(self, index: int) -> None:
        """SIGKILL node ``index``'s whole process group (raylet, object store, its workers)."""
        self.killed.add(index)
        _kill_group(self.nodes[index], signal.SIGKILL)

    def close(self) -> None:
        """End every node this cluster started (workers first, the head last)."""
        for p in reversed(self.nodes):
            _kill_group(p, signal.SIGTERM)
        for p in reversed(self.nodes):
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                _kill_group(p, signal.SIGKILL)
                p.wait(timeout=15)
        for p in self.nodes:  # the groups' leftover children (workers) too
            _kill_group(p, signal.SIGKILL)
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> LocalCluster:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def _kill_group(p: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(p.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def kill_midway(executor: Any, kill: Any, at: float = 0.4) -> Any:
    """Make ``executor`` (a RayExecutor) call ``kill()`` once, when ``at`` of a pool's units
    have come back; ``executor.nodes_before`` then holds the node ids its workers were on."""
    pool = executor._pool
    executor.kills, executor.nodes_before = 0, set()

    def _pool(tasks: list[Any], call: Any) -> Any:
        import ray

        done = 0
        for item in pool(tasks, call):
            done += 1
            if done == max(1, int(at * len(tasks))) and not executor.kills:
                executor.nodes_before = {ray.get(a.__ray_call__.remote(_node_id))
                                         for a in executor._actors}
                kill()
                executor.kills += 1
            yield item

    executor._pool = _pool
    return executor


def _node_id(_self: Any) -> str:
    import ray

    return ray.get_runtime_context().get_node_id()
