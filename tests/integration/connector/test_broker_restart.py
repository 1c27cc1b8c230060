"""RabbitMQ restarted in the middle of a firehose: the daemon reconnects,
publishes again what was not confirmed, and nothing is lost."""
import os
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "pylib"))
from sfc_harness import (NamekoConsumer, Sim, firehose_daemon,  # noqa
                         rabbitmqctl, service_name, wait_for)

COUNT = 2000


class BrokerRestart(unittest.TestCase):
    def test_restart_mid_firehose(self):
        work = tempfile.mkdtemp(prefix="sfc-mq-")
        sim = Sim("--connect-timeout", "2000", env={"SFSIM_CDC": "0"})
        service = service_name()
        consumer = NamekoConsumer(service, ["firehose_event"])
        seen = []
        d = None
        try:
            d = firehose_daemon(sim, service, work, "/topic/Firehose",
                                "firehose_event")
            sim.control("/_sim/firehose", {"channel": "/topic/Firehose",
                                           "count": COUNT, "rate": 500,
                                           "payload_bytes": 128})
            consumer.drain(lambda m: len(m) >= COUNT // 4, 20)
            seen += [m["headers"]["nameko.replay_id"]
                     for m in consumer.messages]
            failures = d.output().count("] broker: ")
            try:
                rabbitmqctl("stop_app")
                # Away until the daemon found it so (a connection refused).
                wait_for(lambda: d.output().count("] broker: ") > failures,
                         30, "the daemon never missed the broker")
            finally:
                rabbitmqctl("start_app")
                rabbitmqctl("await_startup")
            # The old consumer's connection is gone: read on with a new one
            # from the same durable queue.
            consumer = NamekoConsumer(service, ["firehose_event"])

            def complete(msgs):
                return len(set(seen) | {m["headers"]["nameko.replay_id"]
                                        for m in msgs}) >= COUNT
            consumer.drain(complete, 90)
            seen += [m["headers"]["nameko.replay_id"]
                     for m in consumer.messages]
            # It did lose the broker and come back (when everything was
            # confirmed before the stop, it comes back after its backoff).
            deadline = time.time() + 30
            while d.output().count("publishing to ") < 2:
                self.assertLess(time.time(), deadline, d.output())
                time.sleep(0.1)
        finally:
            if d:
                d.kill(15)
                d.wait(15)
            consumer.close()
            sim.stop()
        self.assertEqual(len(set(seen)), COUNT,
                         f"{COUNT - len(set(seen))} events lost")
        print(f"{len(seen)} deliveries for {COUNT} events across a broker "
              f"restart")


if __name__ == "__main__":
    unittest.main(verbosity=2)
