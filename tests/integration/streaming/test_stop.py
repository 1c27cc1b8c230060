"""SIGTERM ends the daemon within the documented 5 s with exit code 0 while
the stream's own exchanges with Salesforce hang: a Bayeux handshake or a
subscription that Salesforce holds for 20 s."""
import os
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "pylib"))
from sfc_harness import Daemon, Sim, base_config, service_name  # noqa

BOUND = 5.0  # the stop bound docs/operations.md promises
CH = "/topic/Hang"


class StopWhileSalesforceHangs(unittest.TestCase):
    def stop_during(self, after):
        """Salesforce holds the stream's @after-th request to /cometd/
        (0: the handshake, 1: the subscription) for 20 s; SIGTERM while
        it is held."""
        work = tempfile.mkdtemp(prefix="sfc-stream-stop-")
        sim = Sim(env={"SFSIM_CDC": "0"})
        d = None
        try:
            sim.control("/_sim/firehose", {"channel": CH, "count": 0})
            sim.control("/_sim/fault", {"kind": "delay", "ms": 20000,
                                        "path": "^/cometd/", "after": after})
            eps = (f'{{ kind = "subscribe"; channel = "{CH}"; '
                   'event_type = "hang_event"; }')
            d = Daemon(base_config(sim, service_name(), work, eps), work)
            d.start()
            deadline = time.time() + 20
            while sim.counter("faults_fired:delay") < 1:
                self.assertLess(time.time(), deadline, d.output())
                time.sleep(0.05)
            rc, elapsed = d.stop_timed()
            print(f"stopped in {elapsed:.2f} s (exit {rc})", file=sys.stderr)
            self.assertLess(elapsed, BOUND, d.output())
            self.assertEqual(rc, 0, d.output())
        finally:
            if d and d.proc.poll() is None:
                d.kill()
            # The delay fault sleeps without looking at the connection.
            sim.proc.kill()
            sim.proc.wait()
            sim.log.close()

    def test_handshake_held(self):
        self.stop_during(0)

    def test_subscribe_held(self):
        self.stop_during(1)


if __name__ == "__main__":
    unittest.main(verbosity=2)
