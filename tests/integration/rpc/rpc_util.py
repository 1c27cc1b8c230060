"""What the RPC integration tests share: a daemon serving RPC on its own
sfsim, and waits on observable state (never sleeps)."""
import re
import tempfile
import time

from nameko_rpc import RpcCaller
from sfc_harness import (AMQP, Daemon, Sim, base_config, free_port,
                         metric_now, service_name, wait_rpc_ready)


class RpcDaemon:
    """sfsim, a daemon serving RPC with the rpc group's keys @rpc (and
    @entrypoints) and /metrics, and a caller. start() starts the daemon
    (again, after a kill); close() stops everything."""

    def __init__(self, rpc, entrypoints=""):
        self.work = tempfile.mkdtemp(prefix="sfc-rpc-")
        self.sim = Sim(env={"SFSIM_CDC": "0"})
        self.service = service_name()
        self.listen = f"127.0.0.1:{free_port()}"
        extra = (f"rpc = {{ enabled = true; {rpc} }};\n"
                 f"metrics = {{ listen = \"{self.listen}\"; }};")
        self.config = base_config(self.sim, self.service, self.work,
                                  entrypoints, extra=extra)
        self.daemon = None
        self.rpc = RpcCaller(AMQP, self.service)

    def start(self, ready=True):
        self.daemon = Daemon(self.config, self.work)
        self.daemon.start()
        if ready:
            wait_rpc_ready(self.rpc)
        return self

    def alive(self):
        return self.daemon.proc.poll() is None

    def metric(self, name):
        """A metric, 0 until /metrics first has it (refreshed each second)."""
        return metric_now(self.listen, name, 0)

    def close(self, kill_sim=False):
        self.rpc.close()
        if self.daemon and self.alive():
            self.daemon.kill(15)
            self.daemon.wait(15)
        if kill_sim:  # handlers still sleeping in a delay fault
            self.sim.proc.kill()
            self.sim.proc.wait(10)
            self.sim.log.close()
        else:
            self.sim.stop()


def creates(sim, sobject="Contact"):
    """Creates of @sobject sfsim has seen, whatever the API version."""
    return sum(n for k, n in sim.control("/_sim/stats")["counters"].items()
               if re.fullmatch(r"requests:POST /services/data/v[0-9.]+"
                               rf"/sobjects/{sobject}", k))


def wait_for(what, check, timeout=30):
    """check()'s first true value; AssertionError after @timeout s."""
    deadline = time.time() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)
