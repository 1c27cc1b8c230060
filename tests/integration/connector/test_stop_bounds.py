"""SIGTERM ends the daemon within the documented 5 s in every state: RPC
workers waiting on slow Salesforce calls, a broker that no longer reads
(its close handshake never completes), and a Salesforce login that hangs,
at start and in the middle of a run."""
import os
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "pylib"))
from nameko_rpc import RpcCaller  # noqa
from sfc_harness import (AMQP, Daemon, Sim, base_config,  # noqa
                         blocked_connections, firehose_daemon, kill_daemon,
                         memory_alarm, service_name, wait_for, wait_rpc_ready)

BOUND = 5.0


def stop_sim(sim):
    """sfsim's delay faults sleep without looking at the connection: do not
    wait for them."""
    sim.proc.terminate()
    try:
        sim.proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        sim.proc.kill()
        sim.proc.wait()
    sim.log.close()


def answered(sim, suffix):
    """Requests to a path ending in @suffix that Salesforce answered."""
    return sum(1 for r in sim.control("/_sim/requests")
               if r["path"].endswith(suffix) and r["status"] == 200)


def term(d):
    """SIGTERM; returns (exit code, seconds to exit)."""
    rc, elapsed = d.stop_timed(60)
    print(f"stopped in {elapsed:.2f} s (exit {rc})", file=sys.stderr)
    return rc, elapsed


class StopBounds(unittest.TestCase):
    def assert_stops_in_bound(self, d):
        """SIGTERM ends @d, cleanly, within BOUND seconds."""
        rc, elapsed = term(d)
        self.assertLess(elapsed, BOUND, d.output())
        self.assertEqual(rc, 0, d.output())

    def test_slow_rpc_calls(self):
        """Workers wait on Salesforce calls that take 30 s."""
        work = tempfile.mkdtemp(prefix="sfc-stop-")
        sim = Sim(env={"SFSIM_CDC": "0"})
        service = service_name()
        caller = None
        try:
            cfg = base_config(sim, service, work, "",
                              extra="rpc = { enabled = true; "
                                    "max_workers = 4; };")
            d = Daemon(cfg, work)
            d.start()
            caller = RpcCaller(AMQP, service)
            wait_rpc_ready(caller)
            sim.control("/_sim/fault", {"kind": "delay", "ms": 30000,
                                        "path": "/sobjects/Contact$",
                                        "count": -1})
            for i in range(6):
                caller.send("create", "Contact", {"LastName": f"Slow{i}"})
            wait_for(lambda: sim.counter("faults_fired:delay") >= 4, 20,
                     "four calls in Salesforce", d.output)
            self.assert_stops_in_bound(d)
        finally:
            if caller:
                caller.close()
            stop_sim(sim)

    def test_broker_that_does_not_read(self):
        """A memory alarm blocks both AMQP connections once they publish:
        the broker reads nothing more, and no close handshake completes."""
        work = tempfile.mkdtemp(prefix="sfc-stop-")
        sim = Sim(env={"SFSIM_CDC": "0"})
        service = service_name()
        caller = None
        d = None
        try:
            d = firehose_daemon(sim, service, work, "/topic/Blocked",
                                "blocked_event", replay=None,
                                extra="rpc = { enabled = true; };")
            caller = RpcCaller(AMQP, service)
            wait_rpc_ready(caller)
            # A call Salesforce answers only once the broker is blocked
            # (the caller's own publishes are blocked by the alarm too;
            # raising it and seeing it reported takes two rabbitmqctl runs,
            # seconds on a busy machine: the delay leaves room for them).
            sim.control("/_sim/fault", {"kind": "delay", "ms": 6000,
                                        "path": "/limits$"})
            caller.send("limits")
            wait_for(lambda: sim.counter("faults_fired:delay") >= 1, 20,
                     "the call in Salesforce", d.output)
            memory_alarm(True)
            # Both connections publish: events, and the call's reply.
            sim.control("/_sim/firehose", {"channel": "/topic/Blocked",
                                           "count": 5})
            wait_for(lambda: sim.counter("stream_events_delivered") >= 5 and
                     answered(sim, "/limits") >= 2, 20,
                     "the events and the call's answer", d.output)
            # Both publishes reached the broker, which stopped reading
            # (the reply's too: it was published under the alarm).
            wait_for(lambda: blocked_connections() >= 2, 30,
                     "both of the daemon's connections blocked", d.output)
            rc, elapsed = term(d)
        finally:
            memory_alarm(False)
            kill_daemon(d)
            if caller:
                caller.close()
            stop_sim(sim)
        self.assertLess(elapsed, BOUND, d.output())
        self.assertEqual(rc, 0, d.output())

    def test_login_hanging_at_start(self):
        work = tempfile.mkdtemp(prefix="sfc-stop-")
        sim = Sim(env={"SFSIM_CDC": "0"})
        try:
            sim.control("/_sim/fault", {"kind": "delay", "ms": 20000,
                                        "path": "^/services/oauth2/token",
                                        "count": -1})
            eps = '{ kind = "subscribe"; channel = "/u/Nothing"; }'
            d = Daemon(base_config(sim, service_name(), work, eps), work)
            d.start()
            wait_for(lambda: sim.counter("faults_fired:delay") >= 1, 20,
                     "the login in flight", d.output)
            self.assert_stops_in_bound(d)
        finally:
            stop_sim(sim)

    def test_login_hanging_mid_run(self):
        """The session expires and the login that follows hangs."""
        work = tempfile.mkdtemp(prefix="sfc-stop-")
        sim = Sim("--connect-timeout", "500", env={"SFSIM_CDC": "0"})
        d = None
        try:
            d = firehose_daemon(sim, service_name(), work, "/topic/Relogin",
                                "relogin_event")
            sim.fault_relogins({"kind": "delay", "ms": 20000})
            wait_for(lambda: sim.counter("faults_fired:delay") >= 1, 20,
                     "the new login in flight", d.output)
            self.assert_stops_in_bound(d)
        finally:
            kill_daemon(d)
            stop_sim(sim)


if __name__ == "__main__":
    unittest.main(verbosity=2)
