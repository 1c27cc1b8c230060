"""A handler plugin built as a shared object is loaded from the config and
called for every event of its entrypoint, stacked with the event proxy on
the same channel."""
import os
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "pylib"))
from sfc_harness import (Daemon, NamekoConsumer, Sim, base_config,  # noqa
                         service_name, wait_subscribed)

PLUGIN = sys.argv.pop(1) if len(sys.argv) > 1 else None


class Plugin(unittest.TestCase):
    def test_plugin_handler_is_called(self):
        self.assertTrue(PLUGIN and os.path.exists(PLUGIN), PLUGIN)
        work = tempfile.mkdtemp(prefix="sfc-plug-")
        out = os.path.join(work, "recorded.txt")
        os.environ["SFC_TEST_PLUGIN_OUT"] = out
        sim = Sim("--connect-timeout", "2000", env={"SFSIM_CDC": "0"})
        service = service_name()
        consumer = NamekoConsumer(service, ["salesforce_lead_created"])
        try:
            eps = """
              { kind = "handle_sobject_notification"; sobject_type = "Lead";
                exclude_current_user = false; },
              { kind = "handle_sobject_notification"; sobject_type = "Lead";
                exclude_current_user = false; handler = "recorder"; }"""
            d = Daemon(base_config(sim, service, work, eps,
                                   extra=""), work)
            with open(d.path) as f:
                text = f.read()
            text = text.replace(
                "entrypoints = (", f'plugins = [ "{PLUGIN}" ];\n  entrypoints = (')
            with open(d.path, "w") as f:
                f.write(text)
            d.start()
            wait_subscribed(sim, d)
            for i in range(3):
                sim.rest("POST", "sobjects/Lead",
                         {"LastName": f"P{i}", "Company": "Acme"})
            consumer.drain(lambda m: len(m) >= 3, 15)
            deadline = time.time() + 10
            lines = []
            while len(lines) < 3 and time.time() < deadline:
                if os.path.exists(out):
                    with open(out) as f:
                        lines = f.read().splitlines()
                time.sleep(0.05)
            d.kill(15)
            self.assertEqual(d.wait(10), 0)
            self.assertIn("plugin " + PLUGIN + " loaded", d.output())
        finally:
            consumer.close()
            sim.stop()
        self.assertEqual(len(lines), 3, lines)
        self.assertEqual(len(consumer.messages), 3)
        proxied = [m["headers"]["nameko.replay_id"] for m in consumer.messages]
        recorded = [int(line.split()[2]) for line in lines]
        self.assertEqual(recorded, proxied)
        self.assertTrue(all(line.startswith(
            service + ".handle_sobject_notification /topic/Lead ")
            for line in lines))

    def test_handlers_are_told_what_nameko_salesforce_tells(self):
        """A handler learns its entrypoint's kind and, as nameko-salesforce
        hands its handlers, the channel (subscribe), the PushTopic name
        (handle_notification) or sobject_type and record_type
        (handle_sobject_notification)."""
        work = tempfile.mkdtemp(prefix="sfc-plug-")
        out = os.path.join(work, "recorded.txt")
        os.environ["SFC_TEST_PLUGIN_OUT"] = out
        sim = Sim("--connect-timeout", "2000", env={"SFSIM_CDC": "0"})
        service = service_name()
        try:
            eps = """
              { kind = "handle_sobject_notification"; sobject_type = "Lead";
                exclude_current_user = false; handler = "recorder"; },
              { kind = "handle_notification"; name = "NewLeads";
                query = "SELECT Id, Company FROM Lead"; handler = "recorder"; },
              { kind = "subscribe"; channel = "/topic/Lead";
                handler = "recorder"; }"""
            d = Daemon(base_config(sim, service, work, eps).replace(
                "entrypoints = (",
                f'plugins = [ "{PLUGIN}" ];\n  entrypoints = ('), work)
            d.start()
            wait_subscribed(sim, d, 2)
            sim.rest("POST", "sobjects/Lead",
                     {"LastName": "Told", "Company": "Acme"})
            deadline = time.time() + 15
            lines = []
            while len(lines) < 3 and time.time() < deadline:
                if os.path.exists(out):
                    with open(out) as f:
                        lines = f.read().splitlines()
                time.sleep(0.05)
            d.kill(15)
            self.assertEqual(d.wait(10), 0, d.output())
        finally:
            sim.stop()
        told = sorted(" ".join(line.split()[:2] + line.split()[3:])
                      for line in lines)
        self.assertEqual(told, sorted([
            f"{service}.handle_sobject_notification /topic/Lead "
            "kind=handle_sobject_notification name=- sobject_type=Lead "
            "record_type=-",
            f"{service}.handle_notification /topic/NewLeads "
            "kind=handle_notification name=NewLeads sobject_type=- "
            "record_type=-",
            f"{service}.subscribe /topic/Lead kind=subscribe "
            "name=/topic/Lead sobject_type=- record_type=-"]), lines)


if __name__ == "__main__":
    unittest.main(verbosity=2)
