"""The man pages: installed by `cmake --install` into a fresh prefix,
rendered by `man -l` with troff warnings on (a warning fails), and complete
against the programs: every command of `sfconnector --help` is in
sfconnector(8), every key of `sfconnector --help-config` in
sfconnector.conf(5), every option of `sfsim --help` in sfsim(1)."""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

CMAKE, BUILD = sys.argv[1], sys.argv[2]
BIN = os.environ["SFC_BIN_DIR"]


def run(*cmd, env=None):
    p = subprocess.run(cmd, capture_output=True, text=True, env=env,
                       timeout=60)
    if p.returncode != 0:
        raise AssertionError("%s failed (%d): %s" % (" ".join(cmd),
                                                     p.returncode, p.stderr))
    return p


class ManPages(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.prefix = tempfile.mkdtemp(prefix="sfc-man-")
        run(CMAKE, "--install", BUILD, "--prefix", cls.prefix)
        cls.text = {}
        env = dict(os.environ, MANWIDTH="80", LC_ALL="C.UTF-8")
        for sec, page in (("8", "sfconnector.8"), ("5", "sfconnector.conf.5"),
                          ("1", "sfsim.1")):
            path = os.path.join(cls.prefix, "share", "man", "man" + sec, page)
            assert os.path.exists(path), "not installed: " + path
            p = run("man", "--warnings", "-l", path, env=env)
            cls.text[page] = (p.stdout, p.stderr)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.prefix, ignore_errors=True)

    def page(self, name):
        out, err = self.text[name]
        self.assertEqual(err, "", name + ": man/troff said something")
        self.assertIn("NAME", out)
        self.assertIn("SYNOPSIS", out)
        # Join words hyphenated at line ends, and lines.
        return re.sub(r"\s+", " ", re.sub(r"‐\n\s*", "", out))

    def test_sfconnector_8_has_every_command(self):
        text = self.page("sfconnector.8")
        help_text = run(os.path.join(BIN, "sfconnector"), "--help").stdout
        commands = re.findall(r"^  (\S+)", help_text, re.M)
        self.assertIn("run", commands)
        for c in commands:
            self.assertIn(c, text, "sfconnector(8) lacks " + c)
        for words in ("EXIT CODES", "SIGHUP", "/healthz"):
            self.assertIn(words, text.upper() if words.isupper() else text)

    def test_sfconnector_conf_5_has_every_key(self):
        text = self.page("sfconnector.conf.5")
        help_text = run(os.path.join(BIN, "sfconnector"),
                        "--help-config").stdout
        keys = re.findall(r"^  ([a-z_]+(?:\.[a-z_\[\]]+)+) \(", help_text,
                          re.M)
        self.assertGreater(len(keys), 50)
        for k in keys:
            self.assertIn(" " + k + " (", text,
                          "sfconnector.conf(5) lacks " + k)
        self.assertIn("${VAR:-default}", text)

    def test_sfsim_1_has_every_option(self):
        text = self.page("sfsim.1")
        help_text = run(os.path.join(BIN, "sfsim"), "--help").stdout
        options = re.findall(r"^  (--[a-z-]+)", help_text, re.M)
        self.assertGreater(len(options), 20)
        for o in options:
            if o != "--help":
                self.assertIn(o, text, "sfsim(1) lacks " + o)


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1], verbosity=2)
