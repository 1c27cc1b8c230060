"""Every RPC method, every argument, hostile values: with
rpc.allow_sobjects = ["Contact"], whatever a caller sends, each request
sfsim receives (its /_sim/requests log) is about Contact, or no request is
made at all; no reply carries another object's data, and no other object
changes."""
import json
import os
import re
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "pylib"))
from rpc_util import RpcDaemon  # noqa

RPC = """
  max_workers = 8;
  allow_sobjects = [ "Contact" ];
  methods = (
    { name = "create_contact"; operation = "create"; sobject = "Contact";
      args = [ "LastName", "Email" ]; },
    { name = "get_contact"; operation = "get"; sobject = "Contact";
      args = [ "Id" ]; },
    { name = "find"; operation = "query"; args = [ "soql" ]; } );"""

VALUES = ["..", ".", "/", "%2F", "%2f%2e%2e", "?", "#", "\u0000", "\\",
          "x" * 3000, "Ünïcødé", "Cöntact", "../Account", "Contact/../Account",
          "Contact/..", "Contact?x=1", "Contact#x", "Account", "User", "",
          " ", "Contact\n", "..%2FAccount", "Contact%2F..%2FAccount",
          "describe", "sobjects", "003", "003!!!!!!!!!!!!", 1, 1.5, -1, None,
          True, [], {}, ["Account"], {"a": 1}]

SOQL = [
    "SELECT Id, Username FROM User",
    "select id from user",
    "SELECT Id FROM Account",
    "SELECT Id FROM Contact WHERE OwnerId IN (SELECT Id FROM User)",
    "SELECT Id FROM Contact WHERE AccountId NOT IN "
    "(SELECT Id FROM Account WHERE Name = 'A')",
    "SELECT Id, Owner.Username FROM Contact",
    "SELECT Id, Account.Name FROM Contact",
    "SELECT Id, Account.Owner.Email FROM Contact",
    "SELECT Id FROM Contact WHERE Account.Name = 'A'",
    "SELECT Id FROM Contact ORDER BY Owner.Username",
    "SELECT Id, (SELECT Id FROM Cases) FROM Contact",
    "SELECT TYPEOF Owner WHEN User THEN Username END FROM Contact",
    "SELECT Id FROM Contact, User",
    "SELECT Id FROM Contact c, c.Account a",
    "SELECT Id FROM Contact UNION SELECT Id FROM User",
    "SELECT Id FROM Uѕer",
    "SELECT Id FROM `User`",
    "SELECT Id FROM \"User\"",
    "SELECT COUNT() FROM User",
    "SELECT FIELDS(ALL) FROM User LIMIT 1",
    "SELECT Id FROM Contact; SELECT Id FROM User",
    "FIND {x} RETURNING User",
    "",
]
# Read only Contact, whatever sfsim makes of them.
OTHER_SOQL = ["SELECT Id FROM Contact WHERE Name = '\\' FROM User'",
              "SELECT Id FROM Contact WHERE Name = 'SELECT Id FROM User'",
              "SELECT Contact.Id FROM Contact", "SELECT c.Id FROM Contact c"]
GOOD_SOQL = ["SELECT Id FROM Contact",
             "SELECT Id, LastName FROM Contact WHERE LastName = 'Walk' "
             "ORDER BY LastName LIMIT 5",
             "select id from contact where name like 'W%'",
             "SELECT COUNT() FROM Contact"]

DATA_PATH = re.compile(r"/services/data/v[0-9.]+/(.*)")
ALLOWED = [re.compile(p) for p in (
    r"sobjects/Contact(/.*)?", r"query", r"queryAll", r"limits",
    r"composite/sobjects")]


class AllowlistWalk(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = RpcDaemon(RPC)
        cls.sim, cls.rpc = cls.d.sim, cls.d.rpc
        try:
            cls.prepare()
        except BaseException:
            cls.d.close()
            raise

    @classmethod
    def prepare(cls):
        cls.d.start()
        cls.account = cls.sim.rest("POST", "sobjects/Account",
                                   {"Name": "Untouchable"})["id"]
        cls.contact = cls.sim.rest("POST", "sobjects/Contact",
                                   {"LastName": "Walk"})["id"]
        cls.user = cls.sim.query("SELECT Id FROM User")["records"][0]["Id"]
        # A Contact's CreatedById names the user: only what is read of
        # other objects is a secret.
        cls.secrets = [cls.account, "Untouchable", "Username",
                       "demo@sfsim.local", "maxBatchSize"]
        VALUES.extend([cls.account, cls.user, cls.account[:15]])
        cls.counts = cls.others()

    @classmethod
    def others(cls):
        """What exists of the objects callers may not touch."""
        return {o: cls.sim.query(f"SELECT {f} FROM {o}")["records"]
                for o, f in (("Account", "Id, Name, OwnerId"),
                             ("User", "Id, Username, Email"),
                             ("Lead", "Id, Name"), ("Case", "Id, Subject"))}

    @classmethod
    def tearDownClass(cls):
        cls.d.close()

    def seq(self):
        log = self.sim.control("/_sim/requests")
        return log[-1]["seq"] + 1 if log else 0

    def call(self, method, args, kwargs=None, value_at=None):
        """Calls @method; checks what reached sfsim and what came back.
        @value_at: the path segment index (after the version) holding an
        escaped value, which sfsim logs unescaped."""
        start = self.seq()
        body = json.dumps({"args": args, "kwargs": kwargs or {}})
        what = f"{method}{json.dumps(args)[:200]}"
        try:
            got, _ = self.rpc.wait(self.rpc.send(method, body=body), 30)
        except TimeoutError:
            self.fail(f"{what}: no answer; daemon exit status "
                      f"{self.d.daemon.proc.poll()}")
        for r in self.sim.control(f"/_sim/requests?from_seq={start}"):
            m = DATA_PATH.fullmatch(r["path"])
            if not m:
                continue  # logins
            self.assertTrue(any(p.fullmatch(m.group(1)) for p in ALLOWED),
                            f"{what} sent {r['method']} {r['path']}")
            segs = m.group(1).split("/")
            if value_at is not None and len(segs) > value_at:
                segs = segs[:value_at]
            self.assertNotIn("..", segs, f"{what} sent {r['path']}")
            self.assertNotIn(".", segs, f"{what} sent {r['path']}")
        text = json.dumps(got)
        for secret in self.secrets:
            if secret not in body:  # an error may quote what was sent
                self.assertNotIn(secret, text,
                                 f"{what} answered {text[:300]}")
        self.assertNotRegex(text, r'"type": "(Account|User)"', what)
        return got

    def walk(self, method, base, values, value_arg=None, value_at=None):
        for i in range(len(base)):
            for v in values:
                args = list(base)
                args[i] = v
                self.call(method, args,
                          value_at=value_at if i == value_arg else None)

    def test_builtins(self):
        c = self.contact
        self.walk("create", ["Contact", {"LastName": "W"}], VALUES)
        self.walk("get", ["Contact", c, ["LastName"]], VALUES)
        self.walk("update", ["Contact", c, {"LastName": "W2"}], VALUES)
        # upsert's value is one escaped segment: sobjects/Contact/Id/<value>
        self.walk("upsert", ["Contact", "Id", c, {"LastName": "W3"}], VALUES,
                  value_arg=2, value_at=3)
        self.walk("describe", ["Contact"], VALUES)
        self.walk("create_many", ["Contact", [{"LastName": "M"}]],
                  VALUES + [[{"attributes": {"type": "Account"},
                              "Name": "Untouched"}],
                            [{"attributes": {"type": "User"}}],
                            [{"attributes": "Account", "Name": "N"}],
                            [{"LastName": "M"}, {"attributes":
                                                 {"type": "Account"},
                                                 "Name": "Untouched"}]])
        self.walk("delete", ["Contact", c], VALUES)
        self.call("limits", [1])
        self.call("get", ["Contact", c], {"fields": ["Owner.Username"]})
        self.call("get", ["Contact", c], {"fields": "Id,Owner.Username"})
        self.call("get", ["Contact", c], {"../x": 1})

    def test_queries(self):
        for method in ("query", "query_all", "find"):
            self.walk(method, ["SELECT Id FROM Contact"], VALUES)
            for soql in SOQL:
                got = self.call(method, [soql])
                self.assertIsNotNone(got["error"], f"{method} {soql}")
            for soql in OTHER_SOQL:
                self.call(method, [soql])
            for soql in GOOD_SOQL:
                got = self.call(method, [soql])
                self.assertIsNone(got["error"], f"{method} {soql}: {got}")

    def test_declared_methods(self):
        self.walk("create_contact", ["Walk", "w@example.com"], VALUES)
        self.walk("get_contact", [self.contact], VALUES)

    def test_zz_nothing_else_changed(self):
        acc = self.sim.rest("GET", f"sobjects/Account/{self.account}")
        self.assertEqual(acc["Name"], "Untouchable")
        self.assertEqual(self.others(), self.counts)
        self.assertTrue(self.d.alive())


if __name__ == "__main__":
    unittest.main(verbosity=2)
