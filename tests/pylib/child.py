"""Child processes of a test die with it: a test that fails or is killed by
ctest's timeout leaves no simulator, daemon or server behind."""
import ctypes
import signal

_PR_SET_PDEATHSIG = 1
_libc = ctypes.CDLL(None, use_errno=True)


def dies_with_parent():
    """preexec_fn for subprocess.Popen: SIGKILL the child when the process
    that started it ends."""
    _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
