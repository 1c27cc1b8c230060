"""Salesforce changes reach a Nameko-style consumer exactly as Nameko's own
EventDispatcher would publish them (nameko-wire.md section 2, vector E1):
create, update, delete, undelete, Change Data Capture, platform events."""
import os
import urllib.error
import urllib.request
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "pylib"))
from sfc_harness import (Daemon, NamekoConsumer, Sim, base_config,  # noqa
                         free_port, service_name, wait_subscribed)

SEED = {"objects": [{"name": "Order_Event__e", "fields": [
    {"name": "Order_Number__c", "type": "string", "length": 40}]}]}


class NamekoEvents(unittest.TestCase):
    def setUp(self):
        self.work = tempfile.mkdtemp(prefix="sfc-evt-")
        self.sim = Sim("--connect-timeout", "2000", seed=SEED)
        self.service = service_name()
        types = [f"salesforce_contact_{t}" for t in
                 ("created", "updated", "deleted", "undeleted")]
        types += ["salesforce_account_create", "salesforce_account_update",
                  "Order_Event__e"]
        self.consumer = NamekoConsumer(self.service, types)
        eps = """
          { kind = "handle_sobject_notification"; sobject_type = "Contact";
            exclude_current_user = false; },
          { kind = "cdc"; sobject_type = "Account"; },
          { kind = "platform_event"; name = "Order_Event__e"; }"""
        self.metrics_port = free_port()
        self.daemon = Daemon(base_config(
            self.sim, self.service, self.work, eps,
            extra=f'metrics = {{ listen = "127.0.0.1:{self.metrics_port}"; }};'),
            self.work)
        self.daemon.start()
        wait_subscribed(self.sim, self.daemon, 3)

    def tearDown(self):
        self.daemon.kill(15)
        self.daemon.wait(10)
        self.consumer.close()
        self.sim.stop()

    def by_key(self, key):
        return [m for m in self.consumer.messages if m["routing_key"] == key]

    def test_every_operation_arrives_as_nameko_publishes_it(self):
        c = self.sim.rest("POST", "sobjects/Contact", {"LastName": "Balboa"})
        cid = c["id"]
        self.sim.rest("PATCH", f"sobjects/Contact/{cid}", {"LastName": "Rocky"})
        self.sim.rest("DELETE", f"sobjects/Contact/{cid}")
        self.sim.control(f"/_sim/undelete/{cid}", {})
        # The same four kinds again on the route: routing keys made once
        # are used again, each for its own kind.
        c2 = self.sim.rest("POST", "sobjects/Contact", {"LastName": "Creed"})
        self.sim.rest("PATCH", f"sobjects/Contact/{c2['id']}",
                      {"LastName": "Adonis"})
        self.sim.rest("DELETE", f"sobjects/Contact/{c2['id']}")
        self.sim.control(f"/_sim/undelete/{c2['id']}", {})
        a = self.sim.rest("POST", "sobjects/Account", {"Name": "Acme"})
        self.sim.rest("PATCH", f"sobjects/Account/{a['id']}", {"Phone": "42"})
        self.sim.rest("POST", "sobjects/Order_Event__e",
                      {"Order_Number__c": "ON-1"})
        self.consumer.drain(lambda m: len(m) >= 11, 20)

        created = self.by_key("salesforce_contact_created")
        self.assertEqual(len(created), 2, self.daemon.output())
        self.assertEqual(created[1]["body"]["Id"], c2["id"])
        m = created[0]
        # E1: body is the PushTopic sobject, as-is.
        self.assertEqual(m["body"]["Id"], cid)
        self.assertEqual(m["body"]["Name"], "Balboa")
        self.assertIn("LastModifiedById", m["body"])
        self.assertEqual(m["content_type"], "application/json")
        self.assertEqual(m["content_encoding"], "utf-8")
        self.assertEqual(m["delivery_mode"], 2)
        stack = m["headers"]["nameko.call_id_stack"]
        self.assertIsInstance(stack, list)
        self.assertTrue(stack[0].startswith(
            self.service + ".handle_sobject_notification."))
        self.assertTrue(all(k.startswith("nameko.") for k in m["headers"]))
        replay = m["headers"]["nameko.replay_id"]
        self.assertEqual(m["message_id"], f"/topic/Contact:{replay}")

        for op in ("updated", "deleted", "undeleted"):
            got = self.by_key("salesforce_contact_" + op)
            self.assertEqual([g["body"]["Id"] for g in got], [cid, c2["id"]],
                             op)
        self.assertEqual([g["body"]["Name"] for g in
                          self.by_key("salesforce_contact_updated")],
                         ["Rocky", "Adonis"])
        self.assertEqual(len(self.consumer.messages), 11)

        cdc = self.by_key("salesforce_account_create")
        self.assertEqual(len(cdc), 1)
        header = cdc[0]["body"]["ChangeEventHeader"]
        self.assertEqual(header["entityName"], "Account")
        self.assertEqual(header["changeType"], "CREATE")
        self.assertEqual(header["recordIds"], [a["id"]])
        upd = self.by_key("salesforce_account_update")[0]["body"]
        self.assertEqual(upd["Phone"], "42")
        self.assertIn("Phone", upd["ChangeEventHeader"]["changedFields"])

        pe = self.by_key("Order_Event__e")
        self.assertEqual(len(pe), 1)
        self.assertEqual(pe[0]["body"]["Order_Number__c"], "ON-1")
        self.assertIn("CreatedDate", pe[0]["body"])

    def test_metrics_and_health(self):
        for i in range(3):
            self.sim.rest("POST", "sobjects/Contact", {"LastName": f"M{i}"})
        self.consumer.drain(lambda m: len(m) >= 3, 20)
        base = f"http://127.0.0.1:{self.metrics_port}"
        deadline = time.time() + 5
        while True:
            with urllib.request.urlopen(base + "/metrics") as r:
                text = r.read().decode()
            if "sfconnector_events_confirmed_total 3" in text:
                break
            self.assertLess(time.time(), deadline, text)
            time.sleep(0.2)
        self.assertIn("sfconnector_events_received_total 3", text)
        self.assertIn("# TYPE sfconnector_stream_pending gauge", text)
        self.assertIn("sfconnector_api_usage_limit 15000", text)
        with urllib.request.urlopen(base + "/healthz") as r:
            self.assertEqual(r.status, 200)
        with self.assertRaises(urllib.error.HTTPError) as cm:
            urllib.request.urlopen(base + "/nope")
        self.assertEqual(cm.exception.code, 404)

    def test_message_ids_are_stable_and_unique(self):
        for i in range(5):
            self.sim.rest("POST", "sobjects/Contact", {"LastName": f"U{i}"})
        self.consumer.drain(lambda m: len(m) >= 5, 20)
        ids = [m["message_id"] for m in self.consumer.messages]
        self.assertEqual(len(ids), 5)
        self.assertEqual(len(set(ids)), 5)
        replays = [int(i.rsplit(":", 1)[1]) for i in ids]
        self.assertEqual(replays, sorted(replays))


if __name__ == "__main__":
    unittest.main(verbosity=2)
