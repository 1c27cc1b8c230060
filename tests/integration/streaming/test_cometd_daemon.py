"""The daemon against a CometD server we did not write (cometd-nodejs-server
from npm, with Salesforce's replay extension added by tests/cometd/server.js):
the same at-least-once checks as against sfsim. Every replay id reaches the
queue; a clean restart delivers nothing twice; events in subscribe and
handshake replies, out-of-order delivery, forgotten sessions
(402::session_unknown), dropped long polls and a server restart with its
retained events lose nothing; nor do 30 kill -9/restart cycles during a
firehose with events in subscribe replies and out-of-order delivery."""
import json
import os
import random
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "pylib"))
from cometd_server import CometD  # noqa
from sfc_harness import (Daemon, NamekoConsumer, Sim, base_config,  # noqa
                         service_name)

CH = "/topic/CometD"
EVENT = "cometd_event"


def published_ids(cometd):
    with open(cometd.state) as f:
        return {json.loads(line)["id"] for line in f if line.strip()}


def wait_stat(cometd, name, value, timeout=30):
    deadline = time.time() + timeout
    while cometd.stats()["stats"][name] < value:
        if time.time() > deadline:
            raise AssertionError(f"{name} stayed below {value}")
        time.sleep(0.05)


def ids_of(msgs):
    return [m["headers"]["nameko.replay_id"] for m in msgs]


class Fixture:
    def __init__(self, config=None):
        self.work = tempfile.mkdtemp(prefix="sfc-cometd-")
        self.sim = Sim(env={"SFSIM_CDC": "0"})
        self.cometd = CometD(self.sim.url, config)
        self.service = service_name()
        self.consumer = NamekoConsumer(self.service, [EVENT])
        self.cometd.publish(CH, 0)  # the channel exists
        eps = (f'{{ kind = "subscribe"; channel = "{CH}"; '
               f'event_type = "{EVENT}"; replay = "stored"; }}')
        self.daemon = Daemon(base_config(self.cometd, self.service, self.work,
                                         eps), self.work)

    def start(self, subscribes=None):
        want = (self.cometd.stats()["stats"]["subscribes"] + 1
                if subscribes is None else subscribes)
        self.daemon.start()
        deadline = time.time() + 20
        while self.cometd.stats()["stats"]["subscribes"] < want:
            if time.time() > deadline:
                raise AssertionError("no subscription: " +
                                     self.daemon.output())
            time.sleep(0.02)

    def wait_published(self, total):
        deadline = time.time() + 20
        while len(published_ids(self.cometd)) < total:
            if time.time() > deadline:
                raise AssertionError("the server did not publish everything")
            time.sleep(0.02)

    def drain_all(self, timeout, total):
        self.wait_published(total)
        want = published_ids(self.cometd)
        return self.consumer.drain(
            lambda m: want <= set(ids_of(m)), timeout)

    def close(self):
        if self.daemon.proc and self.daemon.proc.poll() is None:
            self.daemon.kill(15)
            self.daemon.wait(10)
        self.consumer.close()
        self.cometd.stop()
        self.sim.stop()


class AgainstCometD(unittest.TestCase):
    def test_clean_restart_delivers_nothing_twice(self):
        f = Fixture()
        try:
            f.start()
            f.cometd.publish(CH, 200)
            first = ids_of(f.drain_all(30, 200))
            f.daemon.kill(15)
            self.assertEqual(f.daemon.wait(10), 0, f.daemon.output())
            f.cometd.publish(CH, 100)
            f.start()
            msgs = f.drain_all(30, 300)
            st = f.cometd.stats()["stats"]
        finally:
            f.close()
        ids = ids_of(msgs)
        later = ids[len(first):]
        print("server:", st)
        self.assertEqual(set(ids), published_ids(f.cometd))
        again = sorted(set(first) & set(later))
        self.assertFalse(again, f"a clean restart re-delivered {again[:20]}")
        self.assertEqual(later, sorted(later), "delivered once, in order")

    def test_every_switch_loses_nothing(self):
        f = Fixture({"events_in_subscribe": True,
                     "events_in_handshake": True, "out_of_order": True})
        try:
            f.start()
            f.cometd.publish(CH, 100, rate=500)
            f.consumer.drain(lambda m: len(m) >= 60, 20)
            # Long polls dropped while held; then every session forgotten,
            # and the new sessions' subscribes meet a forgotten session
            # twice more; replays ride in handshake and subscribe replies,
            # newest first.
            f.cometd.configure(drop_polls=3)
            wait_stat(f.cometd, "dropped_polls", 3)
            f.cometd.configure(session_unknown=2)
            f.cometd.control("forget", {})
            wait_stat(f.cometd, "session_unknown", 2)
            f.cometd.publish(CH, 100, rate=500)
            f.wait_published(200)
            before = f.cometd.stats()["stats"]
            # A new server process with the retained events: every session
            # is gone, the events are not.
            f.cometd.restart()
            f.cometd.publish(CH, 100, rate=500)
            msgs = f.drain_all(60, 300)
            after = f.cometd.stats()["stats"]
        finally:
            f.close()
        ids = ids_of(msgs)
        missing = published_ids(f.cometd) - set(ids)
        self.assertFalse(missing, f"lost {sorted(missing)[:10]}")
        self.assertEqual(before["dropped_polls"], 3)
        self.assertEqual(before["session_unknown"], 2)
        self.assertGreater(before["events_in_handshake"], 0)
        self.assertGreater(after["restarts_loaded"], 0)
        print(f"{len(ids)} deliveries for {len(set(ids))} events; before the "
              f"restart: {before}; after: {after}")

    def test_kill_9_cycles_during_a_firehose(self):
        f = Fixture({"events_in_subscribe": True, "out_of_order": True})
        rnd = random.Random(12)
        cycles = 30
        try:
            for i in range(cycles):
                f.start()
                f.cometd.publish(CH, 100, rate=1000)
                time.sleep(rnd.uniform(0.05, 0.4))
                f.daemon.kill()  # SIGKILL
                f.daemon.wait(10)
            f.start()
            msgs = f.drain_all(120, cycles * 100)
            f.daemon.kill(15)
            self.assertEqual(f.daemon.wait(10), 0)
        finally:
            f.close()
        ids = ids_of(msgs)
        published = published_ids(f.cometd)
        self.assertEqual(len(published), cycles * 100)
        missing = published - set(ids)
        self.assertFalse(missing, f"lost {len(missing)}: "
                                  f"{sorted(missing)[:10]}")
        print(f"{cycles} kill -9 cycles: {len(published)} events, "
              f"{len(ids)} deliveries ({len(ids) - len(published)} again)")


if __name__ == "__main__":
    unittest.main(verbosity=2)
