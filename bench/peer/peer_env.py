"""What the benchmark comparisons share: one environment for both sides, and a record of the BLAS
the peer actually ran on.

OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE override OpenBLAS's own choice of kernels and blocking; a
value left over from another machine (or set for an older OpenBLAS) slows a current OpenBLAS, so
the comparisons run the peer with both unset and say so when they were set.
"""
import ctypes
import os

OPENBLAS_OVERRIDES = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


def comparison_env(threads):
    """The environment both sides run in: `threads` threads for OpenBLAS, OpenMP (grokscope's
    GEMMs and row loops) and torch, grokscope's load-aware thread count off (a benchmark asks for
    a fixed count), and OpenBLAS's own kernel choice."""
    env = dict(os.environ)
    for name in OPENBLAS_OVERRIDES:
        if name in env:
            print("# %s=%s was set: unset for both sides" % (name, env.pop(name)), flush=True)
    env.update(OPENBLAS_NUM_THREADS=str(threads), OMP_NUM_THREADS=str(threads), GROKSCOPE_ADAPT_THREADS="0")
    return env


def _openblas():
    paths = set()
    with open("/proc/self/maps") as maps:
        for line in maps:
            fields = line.split()
            if len(fields) >= 6 and "openblas" in fields[-1]:
                paths.add(fields[-1])
    for path in sorted(paths):
        try:
            lib = ctypes.CDLL(path)
            lib.openblas_get_corename.restype = ctypes.c_char_p
            lib.openblas_get_config.restype = ctypes.c_char_p
        except (OSError, AttributeError):
            continue
        return lib, path
    return None, None


def openblas_report(threads=None):
    """One line naming the OpenBLAS this process loaded (core, threads, build), or saying that no
    OpenBLAS is loaded. Call it after the library that uses BLAS (torch, numpy) is imported. With
    `threads`, OpenBLAS is first set to that many threads (torch.set_num_threads does not reach
    it), so that the peer runs on the count it reports."""
    lib, path = _openblas()
    if lib is None:
        return "no OpenBLAS loaded (install libopenblas0-pthread: Debian's reference BLAS is far slower)"
    if threads is not None:
        lib.openblas_set_num_threads(int(threads))
    return "openblas core %s, %d threads (%s; %s)" % (
        lib.openblas_get_corename().decode(), lib.openblas_get_num_threads(), lib.openblas_get_config().decode(), path)


def reexec_without_overrides():
    """OpenBLAS reads its overrides once, when it is loaded: a peer script calls this before it
    imports torch or numpy, and runs again without them if they were set."""
    import sys
    if any(name in os.environ for name in OPENBLAS_OVERRIDES):
        env = dict(os.environ)
        for name in OPENBLAS_OVERRIDES:
            if name in env:
                print("# %s=%s was set: running without it" % (name, env.pop(name)), flush=True)
        os.execve(sys.executable, [sys.executable] + sys.argv, env)
