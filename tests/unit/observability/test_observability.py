"""etc/prometheus/alerts.yml passes `promtool check rules` and the rule unit
tests of alerts_test.yml (every alert fires when it should and not before);
etc/grafana/sfconnector.json is a well-formed dashboard (a data source
variable, unique panel ids, panels that fit the 24-column grid without
overlapping, every query valid PromQL for promtool); both name only the
metrics docs/operations.md documents, and the dashboard shows each of them."""
import json
import os
import re
import subprocess
import sys
import tempfile
import unittest

SRC = os.environ["SFC_SOURCE_DIR"]
HERE = os.path.dirname(os.path.abspath(__file__))
PROMTOOL = os.environ.get("SFC_PROMTOOL",
                          os.path.join(SRC, "tests", "tools", "promtool"))
ALERTS = os.path.join(SRC, "etc", "prometheus", "alerts.yml")
DASHBOARD = os.path.join(SRC, "etc", "grafana", "sfconnector.json")


def documented_metrics():
    """{name: (type, labels)} from the table in docs/operations.md."""
    with open(os.path.join(SRC, "docs", "operations.md")) as f:
        text = f.read()
    table = text.split("<!-- metrics:begin -->")[1].split(
        "<!-- metrics:end -->")[0]
    out = {}
    for line in table.splitlines():
        m = re.match(r"\| `(sfconnector_\w+)` \| (\w+) \|([^|]*)\|", line)
        if m:
            labels = sorted(re.findall(r"`(\w+)`", m.group(3)))
            out[m.group(1)] = (m.group(2), labels)
    return out


def promtool(*args):
    if not os.access(PROMTOOL, os.X_OK):
        raise AssertionError(PROMTOOL + " is missing: run "
                             "scripts/install-deps.sh")
    return subprocess.run([PROMTOOL, *args], capture_output=True, text=True,
                          timeout=60)


def dashboard_exprs(dash):
    for p in dash["panels"]:
        for t in p.get("targets", []):
            yield p, t["expr"]


class Observability(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.metrics = documented_metrics()
        with open(DASHBOARD) as f:
            cls.dash = json.load(f)
        with open(ALERTS) as f:
            cls.alerts = f.read()

    def test_documented_metrics_table(self):
        self.assertGreater(len(self.metrics), 20)
        for name, (kind, _) in self.metrics.items():
            self.assertIn(kind, ("counter", "gauge"), name)
            self.assertEqual(name.endswith("_total"), kind == "counter", name)

    def test_rules_check_and_unit_tests(self):
        p = promtool("check", "rules", ALERTS)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        p = promtool("test", "rules", os.path.join(HERE, "alerts_test.yml"))
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        for alert in ("SfconnectorStreamDown", "SfconnectorBrokerUnconfirmed",
                      "SfconnectorApiUsageHigh",
                      "SfconnectorReplayStoreFailing"):
            self.assertIn("alert: " + alert, self.alerts)

    def test_rules_name_documented_metrics(self):
        for name in set(re.findall(r"\bsfconnector_\w+", self.alerts)):
            self.assertIn(name, self.metrics, "alerts.yml: " + name)

    def test_dashboard_structure(self):
        d = self.dash
        self.assertEqual(d["uid"], "sfconnector")
        self.assertTrue(d["title"])
        self.assertIsInstance(d["schemaVersion"], int)
        variables = {v["name"]: v for v in d["templating"]["list"]}
        self.assertEqual(variables["datasource"]["type"], "datasource")
        self.assertEqual(variables["datasource"]["query"], "prometheus")
        ids = [p["id"] for p in d["panels"]]
        self.assertEqual(len(ids), len(set(ids)), "panel ids repeat")
        cells = set()
        for p in d["panels"]:
            g = p["gridPos"]
            self.assertTrue(0 <= g["x"] and g["w"] > 0 and g["h"] > 0, p)
            self.assertLessEqual(g["x"] + g["w"], 24, p["title"])
            for x in range(g["x"], g["x"] + g["w"]):
                for y in range(g["y"], g["y"] + g["h"]):
                    self.assertNotIn((x, y), cells, p["title"] + " overlaps")
                    cells.add((x, y))
            if p["type"] == "row":
                continue
            self.assertIn(p["type"], ("timeseries", "stat"), p["title"])
            self.assertTrue(p["targets"], p["title"])
            for t in p["targets"]:
                self.assertEqual(t["datasource"]["uid"], "${datasource}")
                self.assertTrue(t["refId"])

    def test_dashboard_shows_every_documented_metric(self):
        used = set()
        for _, expr in dashboard_exprs(self.dash):
            used |= set(re.findall(r"\bsfconnector_\w+", expr))
        self.assertEqual(used - set(self.metrics), set(),
                         "the dashboard names undocumented metrics")
        self.assertEqual(set(self.metrics) - used, set(),
                         "documented metrics the dashboard does not show")

    def test_dashboard_queries_are_promql(self):
        # Grafana's variables replaced as Grafana would, then each query
        # checked by promtool as a recording rule.
        rules = {"groups": [{"name": "dashboard", "rules": []}]}
        for i, (_, expr) in enumerate(dashboard_exprs(self.dash)):
            e = (expr.replace("$__rate_interval", "5m")
                 .replace("$__range", "1h").replace("$instance", ".*"))
            rules["groups"][0]["rules"].append(
                {"record": "dashboard:query%d" % i, "expr": e})
        with tempfile.NamedTemporaryFile("w", suffix=".yml") as f:
            json.dump(rules, f)  # JSON is YAML
            f.flush()
            p = promtool("check", "rules", f.name)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1], verbosity=2)
