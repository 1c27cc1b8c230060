"""The daemon with a Redis replay store that is down: no subscription goes
out from "new" meanwhile (the stored position is waited for), /healthz
answers 503 and the failures are counted; once Redis is up the stream
resumes after the stored position. With streaming.connection_timeout_s the
daemon gives up with a clear error instead. A stop stays within its bound
whatever the store does (StoreStop)."""
import os
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "pylib"))
from redis_server import RedisServer  # noqa
from sfc_harness import (AMQP, Daemon, NamekoConsumer, Sim, free_port,  # noqa
                         metric, service_name, wait_for, wait_subscribed)
from tcp_relay import Relay  # noqa

CH = "/topic/Health"


def config(sim, service, redis_port, listen, extra=""):
    return f"""
service = {{ name = "{service}"; }};
salesforce = {{ login_url = "{sim.url}"; username = "demo@sfsim.local";
  password = "demo-password"; security_token = "DEMOTOKEN";
  client_id = "sfsim-client-id"; client_secret = "sfsim-client-secret"; }};
amqp = {{ uri = "{AMQP.rstrip('/') + '/'}"; }};
streaming = {{ replay_store = "redis";
  redis_uri = "redis://127.0.0.1:{redis_port}/0"; {extra}
  entrypoints = ( {{ kind = "subscribe"; channel = "{CH}";
                    event_type = "health_event"; replay = "stored"; }} ); }};
metrics = {{ listen = "{listen}"; }};
log = {{ level = "info"; }};
"""


def healthz(listen):
    try:
        with urllib.request.urlopen(f"http://{listen}/healthz",
                                    timeout=5) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code
    except OSError:
        return None


def store_errors(listen):
    """sfconnector_stream_store_errors_total, 0 before the first refresh."""
    try:
        return metric(listen, "stream_store_errors_total")
    except (KeyError, OSError):
        return 0


class StoreHealth(unittest.TestCase):
    def test_store_down_then_up(self):
        work = tempfile.mkdtemp(prefix="sfc-health-")
        sim = Sim("--connect-timeout", "2000", env={"SFSIM_CDC": "0"})
        service = service_name()
        consumer = NamekoConsumer(service, ["health_event"])
        rport, listen = free_port(), f"127.0.0.1:{free_port()}"
        redis = d = None
        try:
            sim.control("/_sim/firehose", {"channel": CH, "count": 1,
                                           "rate": 0, "payload_bytes": 8})
            sim.wait_counter("stream_firehose_done", 1, 10)
            first = sim.control("/_sim/stats")["stream"]["channels"][CH][
                "last_replay"]
            sim.control("/_sim/firehose", {"channel": CH, "count": 2,
                                           "rate": 0, "payload_bytes": 8})
            sim.wait_counter("stream_firehose_done", 2, 10)
            d = Daemon(config(sim, service, rport, listen), work)
            d.start()
            wait_for(lambda: store_errors(listen) > 0, 15,
                     "store errors are not counted")
            self.assertEqual(healthz(listen), 503)
            time.sleep(1)
            self.assertEqual(sim.counter("stream_subscribes"), 0,
                             "subscribed without the stored position")
            redis = RedisServer.holding(work, rport,
                                        {f"salesforce:replay_id:{CH}":
                                         str(int(first))})
            wait_for(lambda: healthz(listen) == 200, 30,
                     "healthz stays unhealthy with Redis up")
            msgs = consumer.drain(lambda m: len(m) >= 2, 20)
            ids = sorted(m["headers"]["nameko.replay_id"] for m in msgs)
            self.assertEqual(len(ids), 2, d.output())
            self.assertGreater(ids[0], first)
        finally:
            if d:
                d.kill(15)
                d.wait(10)
            if redis:
                redis.close()
            consumer.close()
            sim.stop()

    def test_store_down_past_the_connection_timeout(self):
        work = tempfile.mkdtemp(prefix="sfc-health-")
        sim = Sim("--connect-timeout", "2000", env={"SFSIM_CDC": "0"})
        try:
            sim.control("/_sim/firehose", {"channel": CH, "count": 0})
            d = Daemon(config(sim, service_name(), free_port(),
                              f"127.0.0.1:{free_port()}",
                              "connection_timeout_s = 2;"), work)
            d.start()
            rc = d.wait(30)
            self.assertEqual(rc, 4, d.output())
            self.assertIn("replay store could not be read", d.output())
            self.assertEqual(sim.counter("stream_subscribes"), 0)
        finally:
            sim.stop()


BOUND = 5.0  # the stop bound docs/operations.md promises
KEY = f"salesforce:replay_id:{CH}"


def replay_ids(msgs):
    return [m["headers"]["nameko.replay_id"] for m in msgs]


class StoreStop(unittest.TestCase):
    """SIGTERM ends the daemon within 5 s with exit code 0 while its Redis
    store is down: refusing connections, or accepting them and answering
    nothing; in the middle of a run (positions waiting to be written) and
    at start (stored positions being read). A position that could not be
    written is logged, and the next start delivers its events again."""

    def setUp(self):
        self.work = tempfile.mkdtemp(prefix="sfc-store-stop-")
        self.sim = Sim(env={"SFSIM_CDC": "0"})
        self.service = service_name()
        self.consumer = NamekoConsumer(self.service, ["health_event"])
        self.listen = f"127.0.0.1:{free_port()}"
        self.redis = RedisServer(self.work)
        self.relay = None
        self.daemons = []
        self.fired = 0
        self.sim.control("/_sim/firehose", {"channel": CH, "count": 0})

    def tearDown(self):
        for d in self.daemons:
            if d.proc.poll() is None:
                d.kill()
                d.wait(10)
        if self.relay:
            self.relay.close()
        self.redis.close()
        self.consumer.close()
        self.sim.stop()

    def start_daemon(self, redis_port):
        d = Daemon(config(self.sim, self.service, redis_port, self.listen),
                   self.work)
        d.start()
        self.daemons.append(d)
        return d

    def fire(self, n):
        """@n events on the channel; returns every message consumed so
        far once they arrived."""
        self.fired += 1
        self.sim.control("/_sim/firehose", {"channel": CH, "count": n,
                                            "rate": 0, "payload_bytes": 8})
        self.sim.wait_counter("stream_firehose_done", self.fired, 10)
        want = len(self.consumer.messages) + n
        return self.consumer.drain(lambda m: len(m) >= want, 20)

    def stop_in_time(self, d):
        rc, elapsed = d.stop_timed()
        print(f"stopped in {elapsed:.2f} s (exit {rc})", file=sys.stderr)
        self.assertLess(elapsed, BOUND, d.output())
        self.assertEqual(rc, 0, d.output())

    def stop_mid_run(self, silence, revive, redis_port):
        """A run whose store goes away (@silence) after a first position
        was stored, while more events are confirmed; then SIGTERM. The
        store comes back (@revive) still holding the first position, and
        the next run delivers what followed it again."""
        d = self.start_daemon(redis_port)
        wait_subscribed(self.sim, d)
        first = replay_ids(self.fire(3))
        wait_for(lambda: self.redis.get(KEY) == str(max(first)), 15,
                 "the first position is not stored: " + d.output())
        errors = store_errors(self.listen)
        silence()
        later = replay_ids(self.fire(3))[len(first):]
        self.assertEqual(len(later), 3, d.output())
        wait_for(lambda: store_errors(self.listen) > errors, 20,
                 "no write of the later position failed: " + d.output())
        self.stop_in_time(d)
        self.assertIn("not written", d.output())
        revive()
        self.assertEqual(self.redis.get(KEY), str(max(first)))
        seen = len(self.consumer.messages)
        d = self.start_daemon(redis_port)
        again = self.consumer.drain(
            lambda m: set(later) <= set(replay_ids(m[seen:])), 20)[seen:]
        self.assertLessEqual(set(later), set(replay_ids(again)), d.output())

    def test_redis_refusing_at_stop(self):
        self.redis.start()
        self.stop_mid_run(self.redis.stop, self.redis.start, self.redis.port)

    def test_redis_silent_at_stop(self):
        """A relay in front of Redis holds every byte: connections are
        accepted and nothing is answered."""
        self.redis.start()
        self.relay = Relay("127.0.0.1", self.redis.port)

        def revive():
            self.relay.cut()  # what was held never reaches Redis
            self.relay.release()

        self.stop_mid_run(self.relay.hold, revive, self.relay.port)

    def test_redis_refusing_at_start(self):
        d = self.start_daemon(free_port())
        wait_for(lambda: store_errors(self.listen) > 0, 15,
                 "the failed reads are not counted: " + d.output())
        self.stop_in_time(d)

    def test_redis_silent_at_start(self):
        """The stored position is being read from a Redis that answers
        nothing when SIGTERM comes."""
        self.redis.start()
        self.relay = Relay("127.0.0.1", self.redis.port)
        self.relay.hold()
        d = self.start_daemon(self.relay.port)
        wait_for(lambda: self.relay.connections() >= 1, 15,
                 "the daemon does not read its store: " + d.output())
        self.stop_in_time(d)
        self.assertEqual(self.sim.counter("stream_subscribes"), 0)


if __name__ == "__main__":
    unittest.main(verbosity=2)
