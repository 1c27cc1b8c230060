"""A broker that takes events but stops confirming them (here: blocked by a
memory alarm) is left after amqp.confirm_timeout_ms; the events go out
again once it confirms, and none is lost."""
import os
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "pylib"))
from sfc_harness import (Daemon, NamekoConsumer, Sim, base_config,  # noqa
                         memory_alarm, service_name, wait_subscribed)

COUNT = 20


class ConfirmTimeout(unittest.TestCase):
    def test_blocked_broker_is_left_and_nothing_lost(self):
        work = tempfile.mkdtemp(prefix="sfc-ct-")
        sim = Sim(env={"SFSIM_CDC": "0"})
        service = service_name()
        consumer = NamekoConsumer(service, ["stall_event"])
        sim.control("/_sim/firehose", {"channel": "/topic/Stall", "count": 0})
        eps = ('{ kind = "subscribe"; channel = "/topic/Stall"; '
               'event_type = "stall_event"; }')
        cfg = base_config(sim, service, work, eps,
                          amqp="confirm_timeout_ms = 1000; "
                               "reconnect_max_ms = 1000;")
        d = Daemon(cfg, work)
        d.start()
        try:
            wait_subscribed(sim, d)
            try:
                # Publishing connections are blocked: nothing is confirmed.
                memory_alarm(True)
                sim.control("/_sim/firehose", {"channel": "/topic/Stall",
                                               "count": COUNT,
                                               "payload_bytes": 64})
                deadline = time.time() + 20
                while "no publisher confirm" not in d.output():
                    self.assertLess(time.time(), deadline, d.output())
                    time.sleep(0.2)
            finally:
                memory_alarm(False)

            def complete(msgs):
                return len({m["headers"]["nameko.replay_id"]
                            for m in msgs}) >= COUNT
            consumer.drain(complete, 60)
            ids = {m["headers"]["nameko.replay_id"] for m in consumer.messages}
            self.assertEqual(len(ids), COUNT, d.output())
            self.assertGreaterEqual(d.output().count("publishing to "), 2)
        finally:
            d.kill(15)
            d.wait(15)
            consumer.close()
            sim.stop()


if __name__ == "__main__":
    unittest.main(verbosity=2)
