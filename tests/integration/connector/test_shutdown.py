"""SIGTERM: a clean exit within 5 s, even when Salesforce is unreachable;
outstanding events are confirmed and committed first."""
import json
import os
import signal
import socket
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "pylib"))
from sfc_harness import (Daemon, NamekoConsumer, Sim, base_config,  # noqa
                         firehose_daemon, memory_alarm, service_name,
                         wait_for, wait_subscribed)


class FakeSim:
    """A login URL where nothing answers."""

    def __init__(self):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        self.url = "http://127.0.0.1:%d" % s.getsockname()[1]
        s.close()


class Shutdown(unittest.TestCase):
    def test_sigterm_with_salesforce_unreachable(self):
        work = tempfile.mkdtemp(prefix="sfc-down-")
        eps = '{ kind = "subscribe"; channel = "/u/Nothing"; }'
        d = Daemon(base_config(FakeSim(), service_name(), work, eps), work)
        d.start()
        # Stopped while it tries to log in again.
        wait_for(lambda: "login (password) failed" in d.output(), 20,
                 "no login attempt")
        t0 = time.time()
        d.kill(signal.SIGTERM)
        rc = d.wait(10)
        elapsed = time.time() - t0
        self.assertEqual(rc, 0, d.output())
        self.assertLess(elapsed, 5.0)

    def test_sigterm_commits_what_was_confirmed(self):
        work = tempfile.mkdtemp(prefix="sfc-down-")
        sim = Sim("--connect-timeout", "2000", env={"SFSIM_CDC": "0"})
        service = service_name()
        consumer = NamekoConsumer(service, ["salesforce_contact_created"])
        try:
            # The test writes as the connector's own user.
            eps = '{ kind = "handle_sobject_notification"; ' \
                  'sobject_type = "Contact"; exclude_current_user = false; }'
            d = Daemon(base_config(sim, service, work, eps), work)
            d.start()
            wait_subscribed(sim, d)
            for i in range(10):
                sim.rest("POST", "sobjects/Contact", {"LastName": f"T{i}"})
            consumer.drain(lambda m: len(m) >= 10, 15)
            t0 = time.time()
            d.kill(signal.SIGTERM)
            self.assertEqual(d.wait(10), 0, d.output())
            self.assertLess(time.time() - t0, 5.0)
            with open(os.path.join(work, "replay.json")) as f:
                stored = json.load(f)
            last = max(m["headers"]["nameko.replay_id"]
                       for m in consumer.messages)
            self.assertEqual(stored["/topic/Contact"], last)
            self.assertIn("stopped (exit 0)", d.output())
            self.assertNotIn("demo-password", d.output())
        finally:
            consumer.close()
            sim.stop()

    def test_sigterm_while_the_broker_does_not_read(self):
        """A broker blocked by a memory alarm stops reading: the daemon's
        sends fill the socket and wait. SIGTERM still ends it within 5 s,
        and nothing unconfirmed is committed."""
        work = tempfile.mkdtemp(prefix="sfc-down-")
        sim = Sim(env={"SFSIM_CDC": "0"})
        service = service_name()
        d = None
        try:
            d = firehose_daemon(sim, service, work, "/topic/Jam", "jam_event")
            memory_alarm(True)
            # 40 MB: far more than the socket buffers hold.
            sim.control("/_sim/firehose", {"channel": "/topic/Jam",
                                           "count": 40,
                                           "payload_bytes": 1000000})
            sim.wait_counter("stream_firehose_done", 1, 20)
            # The daemon waits in a send the broker does not read.
            wait_for(lambda: "has read nothing" in d.output(), 60,
                     "a send waiting on the broker", d.output)
            t0 = time.time()
            d.kill(signal.SIGTERM)
            rc = d.wait(30)
            elapsed = time.time() - t0
        finally:
            memory_alarm(False)
            if d and d.proc.poll() is None:
                d.kill()
            sim.stop()
        self.assertLess(elapsed, 5.0, d.output())
        self.assertEqual(rc, 0, d.output())
        self.assertIn("not confirmed before exit", d.output())
        # Its sends were cut short: the connection is dropped, not closed.
        self.assertIn("stopping, and the broker is not reading", d.output())
        # Nothing confirmed: the position stays before the first event
        # (-2, the oldest retained one), never past an unconfirmed one.
        store = os.path.join(work, "replay.json")
        if os.path.exists(store):
            with open(store) as f:
                self.assertIn(json.load(f).get("/topic/Jam", -2), (-2,))


if __name__ == "__main__":
    unittest.main(verbosity=2)
