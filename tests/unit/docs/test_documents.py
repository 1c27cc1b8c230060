"""The documents hold together: the README stays a short front door with
the two set-up commands CI runs, its minimal configuration is valid, and
every relative link of the README, DEVELOPERS.md, CHANGELOG.md and docs/
reaches an existing file and heading."""
import glob
import os
import re
import subprocess
import sys
import tempfile
import unittest

SRC = os.environ["SFC_SOURCE_DIR"]
BIN = os.environ["SFC_BIN_DIR"]


def read(rel):
    with open(os.path.join(SRC, rel)) as f:
        return f.read()


def anchors(text):
    """GitHub's heading ids: lower case, punctuation dropped, spaces to -."""
    out = set()
    for line in text.splitlines():
        m = re.match(r"#+\s+(.*)", line)
        if m:
            t = re.sub(r"[^\w\- ]", "", m.group(1).strip().lower())
            out.add(t.replace(" ", "-"))
    return out


class Documents(unittest.TestCase):
    def test_readme_is_a_front_door(self):
        readme = read("README.md")
        self.assertLessEqual(len(readme.splitlines()), 200)
        self.assertIn("```sh\n./scripts/demo.sh\n```", readme)
        self.assertIn("```sh\n./scripts/test.sh\n```", readme)
        self.assertIn("./scripts/test.sh", read(".ci/run"))

    def test_readme_minimal_configuration_is_valid(self):
        readme = read("README.md")
        section = readme.split("## A minimal configuration", 1)[1]
        config = re.search(r"```\n(.*?)```", section, re.S).group(1)
        with tempfile.NamedTemporaryFile("w", suffix=".conf") as f:
            f.write(config)
            f.flush()
            env = dict(os.environ, SF_USERNAME="u@example.com",
                       SF_PASSWORD="p", SF_CLIENT_ID="c", SF_CLIENT_SECRET="s")
            p = subprocess.run([os.path.join(BIN, "sfconnector"),
                                "check-config", f.name], capture_output=True,
                               text=True, env=env, timeout=30)
        self.assertEqual(p.returncode, 0, p.stderr)

    def test_links_resolve(self):
        files = ["README.md", "DEVELOPERS.md", "CHANGELOG.md"] + [
            os.path.relpath(p, SRC)
            for p in glob.glob(os.path.join(SRC, "docs", "*.md"))]
        for rel in files:
            text = read(rel)
            for link in re.findall(r"\]\(([^)\s]+)\)", text):
                if re.match(r"[a-z]+:", link):
                    continue
                path, _, frag = link.partition("#")
                target = os.path.normpath(os.path.join(os.path.dirname(rel),
                                                       path)) if path else rel
                with self.subTest(file=rel, link=link):
                    self.assertTrue(os.path.exists(os.path.join(SRC, target)),
                                    "no file " + target)
                    if frag and target.endswith(".md"):
                        self.assertIn(frag, anchors(read(target)))


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1], verbosity=2)
