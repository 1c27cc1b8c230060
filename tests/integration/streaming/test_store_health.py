"""The daemon with a Redis replay store that is down: no subscription goes
out from "new" meanwhile (the stored position is waited for), /healthz
answers 503 and the failures are counted; once Redis is up the stream
resumes after the stored position. With streaming.connection_timeout_s the
daemon gives up with a clear error instead."""
import os
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "pylib"))
from sfc_harness import (AMQP, Daemon, NamekoConsumer, Sim, free_port,  # noqa
                         metric, service_name)

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


def wait_for(cond, timeout, what):
    deadline = time.time() + timeout
    while not cond():
        if time.time() > deadline:
            raise AssertionError(what)
        time.sleep(0.05)


def start_redis(port, work):
    p = subprocess.Popen(["redis-server", "--port", str(port), "--bind",
                          "127.0.0.1", "--save", "", "--appendonly", "no",
                          "--dir", work, "--dbfilename", "dump.rdb"],
                         stdout=subprocess.DEVNULL)
    wait_for(lambda: subprocess.run(
        ["redis-cli", "-p", str(port), "PING"], capture_output=True,
        text=True).stdout.strip() == "PONG", 10, "redis did not start")
    return p


def redis_with(port, work, key, value):
    """redis-server on @port that holds @key from its first answer on (a
    dump made beforehand on another port)."""
    other = free_port()
    p = start_redis(other, work)
    subprocess.run(["redis-cli", "-p", str(other), "SET", key, value],
                   check=True, capture_output=True)
    subprocess.run(["redis-cli", "-p", str(other), "SAVE"], check=True,
                   capture_output=True)
    p.terminate()
    p.wait()
    return start_redis(port, work)


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
            redis = redis_with(rport, work, f"salesforce:replay_id:{CH}",
                               str(int(first)))
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
                redis.terminate()
                redis.wait()
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


if __name__ == "__main__":
    unittest.main(verbosity=2)
