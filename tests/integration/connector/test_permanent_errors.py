"""Errors no retry can cure end the daemon with a documented exit code and
a message that says what to fix; transient ones are retried with backoff.
A PushTopic query Salesforce refuses (400 INVALID_FIELD) is a configuration
error: exit 1. A login Salesforce refuses in the middle of a run (a revoked
or frozen credential: invalid_grant) ends it as a refused login at start
does: exit 3, which the systemd unit does not restart."""
import os
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "pylib"))
from nameko_rpc import RpcCaller  # noqa
from sfc_harness import (AMQP, Daemon, Sim, base_config,  # noqa
                         firehose_daemon, kill_daemon, service_name,
                         wait_rpc_ready)


def wait_exit(d, timeout):
    """The daemon's exit code, or None if it still runs after @timeout."""
    deadline = time.time() + timeout
    while d.proc.poll() is None and time.time() < deadline:
        time.sleep(0.1)
    return d.proc.poll()


class PermanentErrors(unittest.TestCase):
    def test_refused_pushtopic_query_is_a_config_error(self):
        work = tempfile.mkdtemp(prefix="sfc-perm-")
        sim = Sim(env={"SFSIM_CDC": "0"})
        d = None
        try:
            eps = ('{ kind = "handle_notification"; name = "BadTopic"; '
                   'query = "SELECT Id, NoSuchField__c FROM Contact"; }')
            d = Daemon(base_config(sim, service_name(), work, eps), work)
            d.start()
            rc = wait_exit(d, 20)
            out = d.output()
            self.assertEqual(rc, 1, out)
            self.assertIn("BadTopic", out)
            self.assertIn("NoSuchField__c", out)
            # Refused once, not retried: a permanent answer.
            self.assertEqual(sim.counter("requests:POST /services/data/"
                                         "v67.0/sobjects/PushTopic"), 1, out)
        finally:
            kill_daemon(d, 10)
            sim.stop()

    def test_transient_declare_failure_is_retried(self):
        work = tempfile.mkdtemp(prefix="sfc-perm-")
        sim = Sim(env={"SFSIM_CDC": "0"})
        d = None
        try:
            sim.control("/_sim/fault", {"kind": "http_status", "status": 503,
                                        "path": "/sobjects/PushTopic",
                                        "count": 6})
            eps = ('{ kind = "handle_notification"; name = "LaterTopic"; '
                   'query = "SELECT Id, Name FROM Contact"; }')
            d = Daemon(base_config(sim, service_name(), work, eps), work)
            d.start()
            deadline = time.time() + 60
            while sim.counter("stream_subscribes") < 1:
                self.assertIsNone(d.proc.poll(), d.output())
                self.assertLess(time.time(), deadline, d.output())
                time.sleep(0.1)
            self.assertEqual(sim.counter("faults_fired:http_status"), 6)
            d.kill(15)
            self.assertEqual(d.wait(10), 0, d.output())
        finally:
            kill_daemon(d, 10)
            sim.stop()

    def test_login_refused_mid_run_exits_3(self):
        work = tempfile.mkdtemp(prefix="sfc-perm-")
        sim = Sim("--connect-timeout", "500", env={"SFSIM_CDC": "0"})
        d = None
        try:
            d = firehose_daemon(sim, service_name(), work, "/topic/Revoked",
                                "revoked_event")
            sim.fault_relogins({"kind": "http_status", "status": 400,
                                "errorCode": "invalid_grant",
                                "message": "authentication failure"})
            rc = wait_exit(d, 30)
            out = d.output()
            self.assertEqual(rc, 3, out)
            self.assertIn("refused the login", out)
            self.assertIn("stopped (exit 3)", out)
            self.assertNotIn("demo-password", out)
        finally:
            kill_daemon(d, 10)
            sim.stop()

    def test_login_refused_mid_run_exits_3_without_entrypoints(self):
        """An RPC-only daemon: its calls meet the refusal."""
        work = tempfile.mkdtemp(prefix="sfc-perm-")
        sim = Sim(env={"SFSIM_CDC": "0"})
        service = service_name()
        caller = None
        d = None
        try:
            d = Daemon(base_config(sim, service, work, "",
                                   extra="rpc = { enabled = true; };"), work)
            d.start()
            caller = RpcCaller(AMQP, service)
            wait_rpc_ready(caller)
            sim.fault_relogins({"kind": "http_status", "status": 400,
                                "errorCode": "invalid_grant",
                                "message": "authentication failure"})
            caller.send("limits")
            rc = wait_exit(d, 30)
            out = d.output()
            self.assertEqual(rc, 3, out)
            self.assertIn("refused the login", out)
        finally:
            kill_daemon(d, 10)
            if caller:
                caller.close()
            sim.stop()


if __name__ == "__main__":
    unittest.main(verbosity=2)
