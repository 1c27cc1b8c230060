"""RabbitMQ restarted, or blocked so that it stops confirming replies, while
RPC calls are in flight: every caller gets an answer or a clean timeout,
and no record is created twice. Requests the broker hands out again are
answered by the work already done for their first delivery, never by a
second call to Salesforce."""
import os
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "pylib"))
from nameko_rpc import RpcCaller  # noqa
from sfc_harness import (AMQP, Daemon, Sim, base_config,  # noqa
                         broker_relay, free_port, memory_alarm, metric,
                         rabbitmqctl, service_name, wait_for, wait_rpc_ready)

CALLS = 60
WORKERS = 16


class BrokerRestartDuringCalls(unittest.TestCase):
    def setUp(self):
        self.work = tempfile.mkdtemp(prefix="sfc-rpcb-")
        self.sim = Sim(env={"SFSIM_CDC": "0"})
        self.service = service_name()
        self.metrics = f"127.0.0.1:{free_port()}"
        extra = (f"rpc = {{ enabled = true; max_workers = {WORKERS}; }};\n"
                 f"metrics = {{ listen = \"{self.metrics}\"; }};")
        # The daemon reaches the broker through a relay, so that a test can
        # cut its connection at the moment it chooses.
        self.relay, relayed = broker_relay()
        # Back on the broker within a second of it returning.
        cfg = base_config(self.sim, self.service, self.work, "", extra=extra,
                          amqp="reconnect_max_ms = 1000; "
                               "confirm_timeout_ms = 1000;", uri=relayed)
        self.daemon = Daemon(cfg, self.work)
        self.daemon.start()
        caller = RpcCaller(AMQP, self.service)
        wait_rpc_ready(caller)
        caller.close()

    def tearDown(self):
        self.daemon.kill(15)
        self.daemon.wait(15)
        self.relay.close()
        self.sim.stop()

    def wait_in_salesforce(self, n, timeout=30):
        """Until @n calls are held by the delay fault: workers hold their
        requests, unacked."""
        deadline = time.time() + timeout
        while self.sim.counter("faults_fired:delay") < n:
            self.assertLess(time.time(), deadline, self.daemon.output())
            time.sleep(0.05)

    def metric(self, name):
        return metric(self.metrics, name)

    def test_restart_during_calls(self):
        # Each create takes 2 s in Salesforce: when the connection goes, a
        # worker holds every call it was given and the rest wait queued.
        self.sim.control("/_sim/fault", {"kind": "delay", "ms": 2000,
                                         "method": "POST",
                                         "path": "/sobjects/Contact$",
                                         "count": -1})
        caller = RpcCaller(AMQP, self.service)
        names = {caller.send("create", "Contact", {"LastName": f"BR{i}"}):
                 f"BR{i}" for i in range(CALLS)}
        # Every worker holds a request: the connection is cut then, before
        # any of them is answered, whatever the machine's pace (rabbitmqctl
        # alone can take seconds), so those requests come back redelivered.
        self.wait_in_salesforce(WORKERS)
        failures = self.daemon.output().count("] broker: ")
        self.relay.cut()
        try:
            rabbitmqctl("stop_app")
            # Away until the daemon found it so (a connection refused).
            wait_for(lambda: self.daemon.output().count("] broker: ") >
                     failures, 30, "the daemon never missed the broker")
        finally:
            rabbitmqctl("start_app")
            rabbitmqctl("await_startup")
        try:
            caller.conn.release()
        except Exception:
            pass
        # The caller comes back on the same (durable) reply queue.
        caller = RpcCaller(AMQP, self.service, reply_key=caller.reply_key)
        answered, timed_out = {}, []
        for cid, name in names.items():
            try:
                body, _ = caller.wait(cid, 45 if not timed_out else 1)
            except TimeoutError:
                timed_out.append(name)
                continue
            self.assertIsNone(body["error"], body)
            answered[name] = body["result"]["id"]
        # The responder is back for new calls too. The calls that timed out
        # above may still be queued ahead of it, each held 2 s by the delay
        # fault (longer under a sanitizer on a busy machine): the fault goes
        # first, so that the new call waits only for the queue to drain.
        self.sim.clear_faults()
        try:
            body, _ = caller.wait(caller.send("create", "Contact",
                                              {"LastName": "BRafter"}), 90)
            self.assertIsNone(body["error"], body)
            after = body["result"]
        except TimeoutError:
            self.fail(f"{len(answered)} answered, {len(timed_out)} timed out;"
                      f" no answer after: {self.daemon.output()}")
        caller.close()
        print(f"{len(answered)} answered, {len(timed_out)} timed out, "
              f"{self.metric('rpc_redelivered_answered_once_total')} "
              f"redelivered requests answered once", file=sys.stderr)

        self.assertTrue(after["success"])
        for name in names.values():
            ids = self.sim.contacts_named(name)
            self.assertLessEqual(len(ids), 1, f"{name} twice")
            if name in answered:
                self.assertEqual(ids, [answered[name]])
        self.assertGreater(len(answered), CALLS // 2)
        # Requests in hand when the connection died came back redelivered
        # and were answered from the first delivery's work.
        self.assertGreater(self.metric("rpc_redelivered_answered_once_total"),
                           0)

    def test_replies_never_confirmed(self):
        # Creates are held in Salesforce until the broker is blocked by a
        # memory alarm, so the replies published then are never confirmed.
        # The caller published before the alarm and is not blocked.
        self.sim.control("/_sim/fault", {"kind": "delay", "ms": 120000,
                                         "until_cleared": True,
                                         "method": "POST",
                                         "path": "/sobjects/Contact$",
                                         "count": -1})
        caller = RpcCaller(AMQP, self.service)
        names = {caller.send("create", "Contact", {"LastName": f"BL{i}"}):
                 f"BL{i}" for i in range(8)}
        self.wait_in_salesforce(8)
        try:
            memory_alarm(True)
            self.sim.clear_faults()
            wait_for(lambda: "no publisher confirm for RPC replies" in
                     self.daemon.output(), 60,
                     "replies left unconfirmed", self.daemon.output)
        finally:
            self.sim.clear_faults()
            memory_alarm(False)
        for cid, name in names.items():
            body, _ = caller.wait(cid, 60)
            self.assertIsNone(body["error"], body)
            self.assertEqual(self.sim.contacts_named(name),
                             [body["result"]["id"]], name)
        caller.close()


if __name__ == "__main__":
    unittest.main(verbosity=2)
