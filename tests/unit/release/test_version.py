"""sfconnector --version prints the version and the git revision it was
built from; cmake/revision.cmake says "unknown" outside a git checkout and
takes a packager's -DREVISION."""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

CMAKE, VERSION = sys.argv[1], sys.argv[2]
SRC = os.environ["SFC_SOURCE_DIR"]
BIN = os.environ["SFC_BIN_DIR"]
SCRIPT = os.path.join(SRC, "cmake", "revision.cmake")


def revision_of(src, override=""):
    d = tempfile.mkdtemp(prefix="sfc-rev-")
    try:
        out = os.path.join(d, "sfc_revision.h")
        subprocess.run([CMAKE, "-DSRC=" + src, "-DOUT=" + out,
                        "-DREVISION=" + override, "-P", SCRIPT], check=True,
                       timeout=30)
        text = open(out).read()
        m = re.fullmatch(r'#define SFC_REVISION "([^"]*)"\n', text)
        assert m, text
        return m.group(1)
    finally:
        shutil.rmtree(d)


class Version(unittest.TestCase):
    def test_version_names_the_revision(self):
        out = subprocess.run([os.path.join(BIN, "sfconnector"), "--version"],
                             capture_output=True, text=True, check=True,
                             timeout=30).stdout
        m = re.fullmatch(r"sfconnector (\S+) \(revision (\S+)\)\n", out)
        self.assertIsNotNone(m, out)
        self.assertEqual(m.group(1), VERSION)
        head = subprocess.run(["git", "-C", SRC, "rev-parse", "HEAD"],
                              capture_output=True, text=True)
        if head.returncode == 0:
            # A commit of this repository (the one built: HEAD unless a
            # commit came after the build); -dirty when files were edited.
            rev = m.group(2)
            self.assertRegex(rev, r"^[0-9a-f]{12,}(-dirty)?$")
            known = subprocess.run(["git", "-C", SRC, "cat-file", "-e",
                                    rev.split("-")[0] + "^{commit}"])
            self.assertEqual(known.returncode, 0, rev + " is no commit here")
        else:
            self.assertEqual(m.group(2), "unknown")

    def test_no_git_checkout_says_unknown(self):
        d = tempfile.mkdtemp(prefix="sfc-nogit-")
        try:
            self.assertEqual(revision_of(d), "unknown")
        finally:
            shutil.rmtree(d)

    def test_packager_revision_wins(self):
        self.assertEqual(revision_of(SRC, "1.2.3-4"), "1.2.3-4")


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1], verbosity=2)
