"""Coalescing of creates (rpc.coalesce_window_ms): creates of one sObject
arriving together share one sObject Collections request, every caller gets
its own result (its own id, or its own error in the shape a lone create
gives), and the Salesforce API calls saved show in sfsim's counters and in
the daemon's /metrics."""
import os
import re
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "pylib"))
from nameko_rpc import RpcCaller  # noqa
from sfc_harness import (AMQP, Daemon, Sim, base_config, free_port,  # noqa
                         metric, service_name, wait_rpc_ready)

WORKERS = 24


class Coalesce(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.work = tempfile.mkdtemp(prefix="sfc-rpcc-")
        cls.sim = Sim(env={"SFSIM_CDC": "0"})
        cls.service = service_name()
        cls.metrics = f"127.0.0.1:{free_port()}"
        # A wide window: the batch forms even on a slow, sanitized build.
        extra = (f"rpc = {{ enabled = true; max_workers = {WORKERS}; "
                 f"coalesce_window_ms = 300; }};\n"
                 f"metrics = {{ listen = \"{cls.metrics}\"; }};")
        cls.daemon = Daemon(base_config(cls.sim, cls.service, cls.work, "",
                                        extra=extra), cls.work)
        cls.daemon.start()
        cls.rpc = RpcCaller(AMQP, cls.service)
        wait_rpc_ready(cls.rpc)

    @classmethod
    def tearDownClass(cls):
        cls.rpc.close()
        cls.daemon.kill(15)
        cls.daemon.wait(10)
        cls.sim.stop()

    def metric(self, name):
        return metric(self.metrics, name)

    def requests(self, suffix):
        """POSTs to a data path ending in @suffix, whatever the version."""
        counters = self.sim.control("/_sim/stats")["counters"]
        return sum(v for k, v in counters.items()
                   if re.fullmatch(r"requests:POST /services/data/v[0-9.]+"
                                   + suffix, k))

    def test_creates_arriving_together_share_requests(self):
        calls0 = self.sim.counter("api_calls")
        coll0 = self.requests("/composite/sobjects")
        names = [f"Co{i}" for i in range(WORKERS - 4)]
        contacts = {self.rpc.send("create", "Contact", {"LastName": n}): n
                    for n in names}
        bad = self.rpc.send("create", "Contact", {"Email": "x@example.com"})
        accounts = {self.rpc.send("create", "Account", {"Name": n}): n
                    for n in ("AcA", "AcB", "AcC")}
        ids = {}
        for cid, name in list(contacts.items()) + list(accounts.items()):
            body, _ = self.rpc.wait(cid, 60)
            self.assertIsNone(body["error"], body)
            self.assertTrue(body["result"]["success"])
            self.assertEqual(body["result"]["errors"], [])
            ids[name] = body["result"]["id"]
        body, _ = self.rpc.wait(bad, 60)
        calls = self.sim.counter("api_calls") - calls0

        # Each caller got its own record: the id it was given holds the
        # name it sent.
        self.assertEqual(len(set(ids.values())), len(ids))
        for name, rid in ids.items():
            obj = "Account" if name.startswith("Ac") else "Contact"
            self.assertEqual(rid[:3], "001" if obj == "Account" else "003")
            rec = self.sim.rest("GET", f"sobjects/{obj}/{rid}")
            self.assertEqual(rec["Name" if obj == "Account" else "LastName"],
                             name)
        # The failing record fails alone, as a lone create would.
        err = body["error"]
        self.assertIsNone(body["result"])
        self.assertEqual(err["exc_type"], "SalesforceMalformedRequest")
        self.assertEqual(err["exc_args"][1], "400")
        self.assertEqual(err["exc_args"][3][0]["errorCode"],
                         "REQUIRED_FIELD_MISSING")
        self.assertIn("LastName", err["exc_args"][3][0]["fields"])
        # 24 creates, two sObject types: a handful of requests, not 24.
        self.assertLessEqual(calls, 6, calls)
        self.assertGreaterEqual(
            self.requests("/composite/sobjects") - coll0, 2)
        # /metrics is refreshed once a second.
        deadline = time.time() + 10
        while (self.metric("rpc_coalesced_creates_total") < WORKERS and
               time.time() < deadline):
            time.sleep(0.05)
        self.assertGreaterEqual(self.metric("rpc_coalesced_creates_total"),
                                WORKERS)
        self.assertLess(self.metric("rpc_coalesced_create_requests_total"),
                        self.metric("rpc_coalesced_creates_total"))

    def test_lone_create_is_a_plain_create(self):
        single0 = self.requests("/sobjects/Lead")
        res = self.rpc.call("create", "Lead", {"LastName": "Solo",
                                               "Company": "Acme"})
        self.assertEqual(res["id"][:3], "00Q")
        self.assertEqual(self.requests("/sobjects/Lead") - single0, 1)

    def test_lost_batch_is_ambiguous_for_every_caller(self):
        # The batch reached Salesforce but the answer was lost: nobody is
        # told "failed", nobody's record is created twice.
        self.sim.control("/_sim/fault", {"kind": "commit_then_drop",
                                         "path": "/composite/sobjects$"})
        cids = {self.rpc.send("create", "Contact", {"LastName": f"Amb{i}"}):
                f"Amb{i}" for i in range(4)}
        for cid in cids:
            body, _ = self.rpc.wait(cid, 60)
            self.assertEqual(body["error"]["exc_type"],
                             "SalesforceAmbiguousOutcome", body)
        for name in cids.values():
            self.assertEqual(len(self.sim.contacts_named(name)), 1, name)


if __name__ == "__main__":
    unittest.main(verbosity=2)
