"""Events already waiting when the broker link opens (a restart while
Salesforce holds a backlog, a broker slow to accept the login): each is
delivered exactly once, and no confirm timeout is counted. The broker is
reached through a relay that holds the AMQP handshake until the daemon's
stream has received the backlog, so the first publishes and the first
confirms come right after the link opens."""
import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "pylib"))
from sfc_harness import (Daemon, NamekoConsumer, Sim, base_config,  # noqa
                         broker_relay, free_port, kill_daemon, metric,
                         metric_now, service_name, wait_for)

COUNT = 200


class StartupBacklog(unittest.TestCase):
    def test_backlog_at_start_is_published_once(self):
        work = tempfile.mkdtemp(prefix="sfc-sb-")
        sim = Sim("--connect-timeout", "2000", env={"SFSIM_CDC": "0"})
        service = service_name()
        consumer = NamekoConsumer(service, ["backlog_event"])
        relay, relayed = broker_relay()
        relay.hold()
        listen = f"127.0.0.1:{free_port()}"
        d = None
        try:
            # The backlog: events retained before the daemon starts.
            sim.control("/_sim/firehose", {"channel": "/topic/Backlog",
                                           "count": COUNT,
                                           "payload_bytes": 128})
            sim.wait_counter("stream_firehose_done", 1, 20)
            eps = ('{ kind = "subscribe"; channel = "/topic/Backlog"; '
                   'event_type = "backlog_event"; replay = "all"; }')
            cfg = base_config(sim, service, work, eps,
                              extra=f'metrics = {{ listen = "{listen}"; }};',
                              uri=relayed)
            d = Daemon(cfg, work)
            d.start()
            # The daemon's login waits in the relay while its stream takes
            # the backlog from Salesforce.
            wait_for(lambda: relay.connections() >= 1, 20,
                     "the broker connection", d.output)
            sim.wait_counter("stream_events_delivered", COUNT, 20)
            relay.release()
            wait_for(lambda: metric_now(listen, "events_confirmed_total") >=
                     COUNT, 30, "every event confirmed", d.output)
            self.assertEqual(metric(listen, "broker_confirm_timeouts_total"),
                             0, d.output())
            published = metric(listen, "events_published_total")
            self.assertEqual(published, COUNT, d.output())
            consumer.drain(lambda m: len(m) >= published, 30)
            ids = [m["headers"]["nameko.replay_id"] for m in consumer.messages]
            self.assertEqual(len(ids), COUNT)
            self.assertEqual(len(set(ids)), COUNT)
            self.assertNotIn("no publisher confirm", d.output())
            d.kill(15)
            self.assertEqual(d.wait(10), 0, d.output())
        finally:
            kill_daemon(d)
            relay.close()
            consumer.close()
            sim.stop()


if __name__ == "__main__":
    unittest.main(verbosity=2)
