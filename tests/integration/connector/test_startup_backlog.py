"""Events already waiting when the broker link opens (a restart while
Salesforce holds a backlog, a broker slow to accept the login): each is
delivered exactly once, and no confirm timeout is counted. The broker is
reached through a relay that holds the AMQP handshake until the daemon's
stream has received the backlog, so the first publishes and the first
confirms come right after the link opens."""
import os
import sys
import tempfile
import time
import unittest
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "pylib"))
from sfc_harness import (AMQP, Daemon, NamekoConsumer, Sim,  # noqa
                         base_config, free_port, metric, service_name)
from tcp_relay import Relay  # noqa

COUNT = 200


def metric_now(listen, name):
    """The metric, or -1 while the daemon has not published a snapshot."""
    try:
        return metric(listen, name)
    except (KeyError, OSError):
        return -1


def wait_for(what, cond, timeout, output):
    deadline = time.time() + timeout
    while not cond():
        if time.time() > deadline:
            raise AssertionError(f"{what} within {timeout} s: {output()}")
        time.sleep(0.05)


class StartupBacklog(unittest.TestCase):
    def test_backlog_at_start_is_published_once(self):
        work = tempfile.mkdtemp(prefix="sfc-sb-")
        sim = Sim("--connect-timeout", "2000", env={"SFSIM_CDC": "0"})
        service = service_name()
        consumer = NamekoConsumer(service, ["backlog_event"])
        u = urllib.parse.urlsplit(AMQP)
        relay = Relay(u.hostname, u.port or 5672)
        relay.hold()
        relayed = AMQP.replace(f"{u.hostname}:{u.port}",
                               f"127.0.0.1:{relay.port}")
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
                              extra=f'metrics = {{ listen = "{listen}"; }};')
            cfg = cfg.replace(AMQP.rstrip("/") + "/", relayed.rstrip("/") + "/")
            d = Daemon(cfg, work)
            d.start()
            # The daemon's login waits in the relay while its stream takes
            # the backlog from Salesforce.
            wait_for("the broker connection", lambda: relay.connections() >= 1,
                     20, d.output)
            sim.wait_counter("stream_events_delivered", COUNT, 20)
            relay.release()
            wait_for("every event confirmed",
                     lambda: metric_now(listen, "events_confirmed_total") >= COUNT,
                     30, d.output)
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
            if d and d.proc.poll() is None:
                d.kill()
            relay.close()
            consumer.close()
            sim.stop()


if __name__ == "__main__":
    unittest.main(verbosity=2)
