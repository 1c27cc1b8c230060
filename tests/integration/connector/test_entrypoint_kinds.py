"""Entrypoint kinds as nameko-salesforce users write them: a
handle_notification without a query subscribes to a PushTopic that exists
already, and a handle_sobject_notification with declare = false leaves the
existing PushTopic as it is."""
import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "pylib"))
from sfc_harness import (Daemon, NamekoConsumer, Sim, base_config,  # noqa
                         service_name, wait_subscribed)


class ExistingPushTopics(unittest.TestCase):
    def setUp(self):
        self.work = tempfile.mkdtemp(prefix="sfc-kinds-")
        self.sim = Sim("--connect-timeout", "2000", env={"SFSIM_CDC": "0"})
        self.service = service_name()
        self.consumer = None
        self.daemon = None

    def tearDown(self):
        if self.daemon:
            self.daemon.kill(15)
            self.assertEqual(self.daemon.wait(10), 0, self.daemon.output())
        if self.consumer:
            self.consumer.close()
        self.sim.stop()

    def topic(self, name, query):
        """Creates PushTopic @name as an administrator would."""
        self.sim.rest("POST", "sobjects/PushTopic", {
            "Name": name, "Query": query, "ApiVersion": 60.0,
            "NotifyForFields": "All", "NotifyForOperationCreate": True,
            "NotifyForOperationUpdate": True,
            "NotifyForOperationDelete": True,
            "NotifyForOperationUndelete": True})

    def topic_query(self, name):
        rows = self.sim.query("SELECT Id, Query FROM PushTopic WHERE Name = "
                              f"'{name}'")["records"]
        self.assertEqual(len(rows), 1, rows)
        return rows[0]["Query"]

    def run_daemon(self, entrypoints, event_types):
        self.consumer = NamekoConsumer(self.service, event_types)
        self.daemon = Daemon(base_config(self.sim, self.service, self.work,
                                         entrypoints), self.work)
        self.daemon.start()
        wait_subscribed(self.sim, self.daemon)

    def test_notification_without_query_uses_the_existing_topic(self):
        query = "SELECT Id, Name, Company FROM Lead"
        self.topic("LeadsByName", query)
        self.run_daemon('{ kind = "handle_notification"; '
                        'name = "LeadsByName"; event_type = "lead_seen"; }',
                        ["lead_seen"])
        self.sim.rest("POST", "sobjects/Lead",
                      {"LastName": "Existing", "Company": "Acme"})
        msgs = self.consumer.drain(lambda m: len(m) >= 1, 15)
        self.assertEqual(len(msgs), 1, self.daemon.output())
        self.assertEqual(msgs[0]["body"]["Company"], "Acme")
        self.assertEqual(self.topic_query("LeadsByName"), query)

    def test_sobject_notification_without_declaring(self):
        query = "SELECT Id, Company FROM Lead"
        self.topic("Lead", query)
        self.run_daemon('{ kind = "handle_sobject_notification"; '
                        'sobject_type = "Lead"; declare = false; }',
                        ["salesforce_lead_created"])
        self.sim.rest("POST", "sobjects/Lead",
                      {"LastName": "Kept", "Company": "Initech"})
        msgs = self.consumer.drain(lambda m: len(m) >= 1, 15)
        self.assertEqual(len(msgs), 1, self.daemon.output())
        self.assertEqual(msgs[0]["body"]["Company"], "Initech")
        # The administrator's query stands: nothing was declared over it.
        self.assertEqual(self.topic_query("Lead"), query)


if __name__ == "__main__":
    unittest.main(verbosity=2)
