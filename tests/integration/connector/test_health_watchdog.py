"""/healthz tells a health checker the truth while the daemon's dispatch
thread cannot refresh its state: a broker blocked by a memory alarm stops
reading, the daemon's sends wait on it (for up to amqp.confirm_timeout_ms),
and /healthz answers 503 within seconds, naming the reason, instead of the
200 of its last snapshot; /metrics says how old its snapshot is. Every 503
names its reason."""
import os
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "pylib"))
from sfc_harness import (Daemon, Sim, base_config, firehose_daemon,  # noqa
                         free_port, kill_daemon, memory_alarm, service_name,
                         wait_for)


def healthz(listen):
    """(status, body) of GET /healthz; (0, why) while it does not answer."""
    try:
        with urllib.request.urlopen(f"http://{listen}/healthz",
                                    timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
    except OSError as e:
        return 0, str(e)


def snapshot_age(listen):
    with urllib.request.urlopen(f"http://{listen}/metrics", timeout=5) as r:
        for line in r.read().decode().splitlines():
            if line.startswith("sfconnector_metrics_age_seconds "):
                return float(line.split()[1])
    raise KeyError("sfconnector_metrics_age_seconds")


class HealthWatchdog(unittest.TestCase):
    def test_blocked_dispatch_thread_is_unhealthy(self):
        work = tempfile.mkdtemp(prefix="sfc-watchdog-")
        sim = Sim(env={"SFSIM_CDC": "0"})
        listen = f"127.0.0.1:{free_port()}"
        d = None
        try:
            # The confirm timeout far beyond the test: what turns /healthz
            # to 503 is the stale snapshot, not the link being dropped.
            d = firehose_daemon(sim, service_name(), work, "/topic/Jam",
                                "jam_event",
                                extra=f'metrics = {{ listen = "{listen}"; }};',
                                amqp="confirm_timeout_ms = 120000;")
            wait_for(lambda: healthz(listen)[0] == 200, 30, "healthy",
                     d.output)
            self.assertEqual(healthz(listen)[1], "ok\n")
            self.assertLess(snapshot_age(listen), 5)
            try:
                memory_alarm(True)
                # 40 MB: far more than the socket buffers hold.
                sim.control("/_sim/firehose", {"channel": "/topic/Jam",
                                               "count": 40,
                                               "payload_bytes": 1000000})
                wait_for(lambda: "has read nothing" in d.output(), 60,
                         "a send waiting on the broker", d.output)
                wait_for(lambda: healthz(listen)[0] == 503, 15,
                         "/healthz 503 while the dispatch thread waits",
                         d.output)
                status, body = healthz(listen)
                self.assertIn("not refreshed", body)
                self.assertGreaterEqual(snapshot_age(listen), 5)
                # Still waiting on the send, not yet given up on the broker.
                self.assertNotIn("publishing to ", d.output().split(
                    "has read nothing")[1])
            finally:
                memory_alarm(False)
            wait_for(lambda: healthz(listen)[0] == 200, 60,
                     "healthy again once the broker reads", d.output)
            self.assertLess(snapshot_age(listen), 5)
        finally:
            kill_daemon(d, 10)
            sim.stop()

    def test_unhealthy_answers_name_the_reason(self):
        """Before the broker link is up (its URI points at a port nobody
        listens on) /healthz answers 503 and says why."""
        work = tempfile.mkdtemp(prefix="sfc-watchdog-")
        sim = Sim(env={"SFSIM_CDC": "0"})
        listen = f"127.0.0.1:{free_port()}"
        d = None
        try:
            eps = '{ kind = "subscribe"; channel = "/u/Down"; }'
            d = Daemon(base_config(sim, service_name(), work, eps,
                                   extra=f'metrics = {{ listen = "{listen}"; }};',
                                   uri=f"amqp://guest:guest@127.0.0.1:"
                                       f"{free_port()}/"), work)
            d.start()
            wait_for(lambda: healthz(listen)[0] == 503, 30, "an answer",
                     d.output)
            wait_for(lambda: "broker" in healthz(listen)[1], 30,
                     "the reason", d.output)
        finally:
            kill_daemon(d, 10)
            sim.stop()


if __name__ == "__main__":
    unittest.main(verbosity=2)
