"""amqp.alternate_exchange: events no queue is bound for are returned by the
broker and sent on to the alternate exchange, and committed only once that
copy is confirmed. The events exchange is declared without arguments, so a
Nameko service declaring it afterwards agrees with it."""
import json
import os
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "pylib"))
from kombu import Connection, Exchange, Queue  # noqa
from sfc_harness import (AMQP, Daemon, NamekoConsumer, Sim,  # noqa
                         base_config, free_port, metric, service_name,
                         wait_subscribed)

COUNT = 5


def committed(work):
    """The replay id the daemon's file store holds for /topic/AE."""
    with open(os.path.join(work, "replay.json")) as f:
        return json.load(f).get("/topic/AE")


class AlternateExchange(unittest.TestCase):
    def test_unroutable_events_reach_the_alternate_exchange(self):
        work = tempfile.mkdtemp(prefix="sfc-ae-")
        sim = Sim(env={"SFSIM_CDC": "0"})
        service = service_name()
        ae = f"{service}.unrouted"
        listen = f"127.0.0.1:{free_port()}"
        conn = Connection(AMQP)
        ae_queue = Queue(f"{ae}-q", exchange=Exchange(ae, type="fanout",
                                                      durable=True),
                         durable=True, auto_delete=False)
        ae_queue(conn.default_channel).declare()
        sim.control("/_sim/firehose", {"channel": "/topic/AE", "count": 0})
        eps = ('{ kind = "subscribe"; channel = "/topic/AE"; '
               'event_type = "ae_event"; }')
        cfg = base_config(sim, service, work, eps,
                          extra=f'metrics = {{ listen = "{listen}"; }};',
                          amqp=f'alternate_exchange = "{ae}";')
        d = Daemon(cfg, work)
        d.start()
        consumer = None
        try:
            wait_subscribed(sim, d)
            # A Nameko service starting after the daemon declares the
            # events exchange as Nameko does, and must not be refused.
            consumer = NamekoConsumer(service, ["other_event"])
            sim.control("/_sim/firehose", {"channel": "/topic/AE",
                                           "count": COUNT,
                                           "payload_bytes": 32})
            got = []
            deadline = time.time() + 20
            while len(got) < COUNT and time.time() < deadline:
                m = ae_queue(conn.default_channel).get(no_ack=True)
                if m is None:
                    time.sleep(0.1)
                    continue
                got.append(m)
            self.assertEqual(len(got), COUNT, d.output())
            self.assertEqual({m.delivery_info["routing_key"] for m in got},
                             {"ae_event"})
            ids = [m.headers["nameko.replay_id"] for m in got]
            self.assertEqual(len(set(ids)), COUNT)
            self.assertEqual(got[0].properties["message_id"],
                             f"/topic/AE:{ids[0]}")
            json.loads(got[0].body)
            deadline = time.time() + 10
            while metric(listen, "events_confirmed_total") < COUNT:
                self.assertLess(time.time(), deadline, d.output())
                time.sleep(0.2)
            self.assertEqual(metric(listen, "events_unroutable_total"), COUNT)
            # Committed once the copies were confirmed, and on disk within
            # a second or so although the stream is quiet now.
            deadline = time.time() + 10
            while committed(work) != max(ids):
                self.assertLess(time.time(), deadline, committed(work))
                time.sleep(0.2)
        finally:
            d.kill(15)
            d.wait(15)
            if consumer:
                consumer.close()
            ae_queue(conn.default_channel).delete()
            Exchange(ae)(conn.default_channel).delete()
            conn.release()
            sim.stop()


if __name__ == "__main__":
    unittest.main(verbosity=2)
