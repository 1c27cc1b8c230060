"""A queue that refuses publishes (x-max-length with x-overflow
reject-publish) makes the broker nack: the daemon says so in its log, counts
the nacks, and publishes again with backoff rather than in a tight loop;
once the queue takes messages again every event arrives."""
import os
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "pylib"))
from kombu import Connection, Exchange, Queue  # noqa
from sfc_harness import (AMQP, Sim, firehose_daemon, free_port,  # noqa
                         kill_daemon, metric, metric_now, service_name)

COUNT = 40
ROOM = 5


class NackBackoff(unittest.TestCase):
    def test_refused_publishes_back_off(self):
        work = tempfile.mkdtemp(prefix="sfc-nack-")
        sim = Sim(env={"SFSIM_CDC": "0"})
        service = service_name()
        conn = Connection(AMQP)
        exchange = Exchange(service + ".events", type="topic", durable=True,
                            auto_delete=False)
        queue = Queue(f"evt-{service}-full_event--crm.handle",
                      exchange=exchange, routing_key="full_event",
                      durable=True, auto_delete=False,
                      queue_arguments={"x-max-length": ROOM,
                                       "x-overflow": "reject-publish"})
        queue.bind(conn.default_channel).declare()
        listen = f"127.0.0.1:{free_port()}"
        d = None
        try:
            d = firehose_daemon(sim, service, work, "/topic/Full",
                                "full_event", replay=None,
                                extra=f'metrics = {{ listen = "{listen}"; }};',
                                amqp="reconnect_max_ms = 2000;")
            sim.control("/_sim/firehose", {"channel": "/topic/Full",
                                           "count": COUNT,
                                           "payload_bytes": 64})
            deadline = time.time() + 20
            while metric_now(listen, "events_nacked_total") < 1:
                self.assertLess(time.time(), deadline, d.output())
                time.sleep(0.1)
            # Three seconds of a full queue: a handful of attempts, not a
            # storm of tens of thousands of publishes.
            before = metric(listen, "events_published_total")
            time.sleep(3)
            during = metric(listen, "events_published_total") - before
            self.assertLess(during, 20 * COUNT, d.output())
            self.assertIn("refused", d.output())
            self.assertGreater(metric(listen, "events_nacked_total"), 0)

            # The queue takes messages again: everything arrives.
            seen = set()

            def on_message(body, message):
                seen.add(message.headers["nameko.replay_id"])
                message.ack()
            with conn.Consumer([queue], callbacks=[on_message],
                               accept=["json"]):
                deadline = time.time() + 60
                while len(seen) < COUNT and time.time() < deadline:
                    try:
                        conn.drain_events(timeout=0.5)
                    except Exception:
                        pass
            self.assertEqual(len(seen), COUNT, d.output())
            d.kill(15)
            self.assertEqual(d.wait(10), 0, d.output())
        finally:
            kill_daemon(d)
            try:
                queue.bind(conn.default_channel).delete()
                exchange.bind(conn.default_channel).delete()
            except Exception:
                pass
            conn.release()
            sim.stop()


if __name__ == "__main__":
    unittest.main(verbosity=2)
