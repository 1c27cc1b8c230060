"""The RPC responder as a Nameko caller sees it (vectors R1-R7): every
built-in and config-declared method, each error shape, the allowlist, 100
calls in parallel, and Salesforce faults handled behind the caller's back."""
import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "pylib"))
from nameko_rpc import RemoteError, RpcCaller  # noqa
from sfc_harness import (AMQP, Daemon, Sim, base_config,  # noqa
                         service_name, wait_rpc_ready)

RPC = """
rpc = {
  enabled = true; max_workers = 8;
  allow_sobjects = [ "Contact", "Account" ];
  methods = ( { name = "create_contact"; operation = "create";
                sobject = "Contact"; args = [ "LastName", "Email" ]; } );
};"""


class Rpc(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.work = tempfile.mkdtemp(prefix="sfc-rpc-")
        cls.sim = Sim(env={"SFSIM_CDC": "0"})
        cls.service = service_name()
        cfg = base_config(cls.sim, cls.service, cls.work, "", extra=RPC)
        cls.daemon = Daemon(cfg, cls.work)
        cls.daemon.start()
        cls.rpc = RpcCaller(AMQP, cls.service)
        wait_rpc_ready(cls.rpc)

    @classmethod
    def tearDownClass(cls):
        cls.rpc.close()
        cls.daemon.kill(15)
        cls.daemon.wait(10)
        cls.sim.stop()

    def error_of(self, method, *args, **kwargs):
        with self.assertRaises(RemoteError) as cm:
            self.rpc.call(method, *args, **kwargs)
        return cm.exception.error

    def test_r1_r2_create_and_reply_shape(self):
        cid = self.rpc.send("create", "Contact",
                            {"LastName": "Balboa", "Email": "rocky@example.com"})
        body, props = self.rpc.wait(cid)
        self.assertEqual(list(body), ["result", "error"])
        self.assertIsNone(body["error"])
        self.assertTrue(body["result"]["success"])
        self.assertEqual(body["result"]["id"][:3], "003")
        self.assertEqual(props["correlation_id"], cid)
        self.assertEqual(props["content_type"], "application/json")
        self.assertEqual(props["delivery_mode"], 2)

    def test_crud_query_describe(self):
        cid = self.rpc.call("create", sobject="Contact",
                            data={"LastName": "Crud"})["id"]
        rec = self.rpc.call("get", "Contact", cid, ["LastName"])
        self.assertEqual(rec["LastName"], "Crud")
        self.assertEqual(self.rpc.call("update", "Contact", cid,
                                       {"LastName": "Crud2"}), 204)
        page = self.rpc.call("query",
                             "SELECT Id FROM Contact WHERE LastName = 'Crud2'")
        self.assertEqual(page["totalSize"], 1)
        self.assertEqual(self.rpc.call("delete", "Contact", cid), 204)
        all_ = self.rpc.call("query_all",
                             "SELECT Id FROM Contact WHERE LastName = 'Crud2'")
        self.assertEqual(all_["totalSize"], 1)  # queryAll sees deleted rows
        self.assertEqual(self.rpc.call("describe", "Account")["name"],
                         "Account")
        self.assertIn("DailyApiRequests", self.rpc.call("limits"))
        self.assertEqual(self.rpc.call("upsert", "Account", "Id",
                                       self.rpc.call("create", "Account",
                                                     {"Name": "U"})["id"],
                                       {"Name": "U2"}), 204)
        many = self.rpc.call("create_many", "Contact",
                             [{"LastName": f"M{i}"} for i in range(5)])
        self.assertEqual(len(many), 5)
        self.assertTrue(all(r["success"] for r in many))

    def test_config_declared_method(self):
        res = self.rpc.call("create_contact", "Doe", "jane@example.com")
        rec = self.rpc.call("get", "Contact", res["id"])
        self.assertEqual(rec["LastName"], "Doe")
        self.assertEqual(rec["Email"], "jane@example.com")
        res = self.rpc.call("create_contact", last_name="Roe")
        self.assertEqual(self.rpc.call("get", "Contact", res["id"])
                         ["LastName"], "Roe")

    def test_r3_method_not_found(self):
        err = self.error_of("frobnicate")
        self.assertEqual(err, {"exc_type": "MethodNotFound",
                               "exc_path": "nameko.exceptions.MethodNotFound",
                               "exc_args": ["frobnicate"],
                               "value": "frobnicate"})

    def test_r4_missing_kwargs(self):
        body, _ = self.rpc.wait(self.rpc.send("create", body='{"args": []}'))
        self.assertEqual(body["error"]["exc_type"], "MalformedRequest")
        self.assertEqual(body["error"]["value"],
                         "Message missing `args` or `kwargs`")

    def test_r5_incorrect_signature(self):
        err = self.error_of("create")
        self.assertEqual(err["exc_path"],
                         "nameko.exceptions.IncorrectSignature")
        self.assertEqual(err["value"], "create() missing 2 required positional"
                         " arguments: 'sobject' and 'data'")
        err = self.error_of("create", "Contact", {}, 3)
        self.assertEqual(err["value"], "create() takes 3 positional arguments"
                         " but 4 were given")
        err = self.error_of("create", "Contact", {}, foo=1)
        self.assertEqual(err["value"], "create() got an unexpected keyword "
                         "argument 'foo'")

    def test_r6_salesforce_error(self):
        err = self.error_of("create", "Contact", {"Email": "x@example.com"})
        self.assertEqual(err["exc_type"], "SalesforceMalformedRequest")
        self.assertEqual(err["exc_path"],
                         "simple_salesforce.exceptions.SalesforceMalformedRequest")
        self.assertEqual(err["exc_args"][1], "400")
        self.assertEqual(err["exc_args"][3][0]["errorCode"],
                         "REQUIRED_FIELD_MISSING")

    def test_r7_malformed_transport_input(self):
        body, _ = self.rpc.wait(self.rpc.send("create", body='{"args": ['))
        self.assertEqual(body["error"]["exc_type"], "MalformedRequest")
        self.assertIn("not valid JSON", body["error"]["value"])
        body, _ = self.rpc.wait(self.rpc.send("create", body="<xml/>",
                                              content_type="text/xml"))
        self.assertEqual(body["error"]["exc_type"], "MalformedRequest")
        # No reply_to: dropped, counted, the responder lives on.
        self.rpc.send("limits", reply=False)
        self.assertIn("DailyApiRequests", self.rpc.call("limits"))
        self.assertIn("without reply_to dropped", self.daemon.output())

    def test_allowlist_makes_no_rest_call(self):
        before = self.sim.counter("requests")
        err = self.error_of("create", "Lead", {"LastName": "X",
                                               "Company": "Y"})
        self.assertEqual(err["exc_type"], "NotAllowed")
        self.assertEqual(self.sim.counter("requests"), before)

    def test_hundred_parallel_calls(self):
        cids = [self.rpc.send("create", "Contact", {"LastName": f"P{i}"})
                for i in range(100)]
        ids = set()
        for cid in cids:
            body, _ = self.rpc.wait(cid, 60)
            self.assertIsNone(body["error"])
            ids.add(body["result"]["id"])
        self.assertEqual(len(ids), 100)

    def test_salesforce_faults_are_transparent(self):
        self.sim.control("/_sim/fault", {"kind": "http_status", "status": 503,
                                         "path": "/sobjects/Contact$",
                                         "count": 2})
        self.assertTrue(self.rpc.call("create", "Contact",
                                      {"LastName": "Retry"})["success"])
        self.sim.control("/_sim/fault", {"kind": "unable_to_lock_row",
                                         "path": "/sobjects/Contact$",
                                         "count": 2})
        self.assertTrue(self.rpc.call("create", "Contact",
                                      {"LastName": "Lock"})["success"])
        logins = self.sim.counter("token_requests")
        self.sim.control("/_sim/expire_sessions", {})
        self.assertTrue(self.rpc.call("create", "Contact",
                                      {"LastName": "Fresh"})["success"])
        self.assertEqual(self.sim.counter("token_requests"), logins + 1)


if __name__ == "__main__":
    unittest.main(verbosity=2)
