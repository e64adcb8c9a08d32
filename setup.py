"""pip install . : the Python module `grokscope` built by the project's own CMake (only the compiled
library and the module: no tests, examples or tools), installed with its type stub grokscope.pyi.

The build directory is build/pip (kept, so a second install recompiles nothing; with ./run's
ccache settings a clone that already built the release tree recompiles nothing either). Set
GROKSCOPE_PIP_JOBS to limit the compile jobs (default: the number of cores), CMAKE_GENERATOR to
change Ninja, and GROKSCOPE_MARCH (native by default) for a module that runs on other machines
(x86-64-v3 for any AVX2 machine).
"""
import os
import re
import shutil
import subprocess
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = os.path.dirname(os.path.abspath(__file__))


def version():
    text = open(os.path.join(ROOT, "include", "grokscope", "core", "version.hpp")).read()
    parts = [re.search(r"#define GROKSCOPE_VERSION_%s (\d+)" % k, text).group(1) for k in ("MAJOR", "MINOR", "PATCH")]
    return ".".join(parts)


class CMakeExtension(Extension):
    def __init__(self, name):
        super().__init__(name, sources=[])


class CMakeBuild(build_ext):
    def build_extension(self, ext):
        build = os.path.join(ROOT, "build", "pip")
        jobs = os.environ.get("GROKSCOPE_PIP_JOBS", str(os.cpu_count() or 2))
        configure = ["cmake", "-S", ROOT, "-B", build, "-DCMAKE_BUILD_TYPE=Release",
                     "-DGROKSCOPE_BUILD_PYTHON=ON", "-DGROKSCOPE_BUILD_TESTS=OFF", "-DGROKSCOPE_BUILD_EXAMPLES=OFF",
                     "-DGROKSCOPE_BUILD_TOOLS=OFF", "-DGROKSCOPE_INSTALL=OFF", "-DPython3_EXECUTABLE=" + sys.executable,
                     "-DGROKSCOPE_MARCH=" + os.environ.get("GROKSCOPE_MARCH", "native")]
        if shutil.which("ninja") and "CMAKE_GENERATOR" not in os.environ and not os.path.exists(
                os.path.join(build, "CMakeCache.txt")):
            configure += ["-G", "Ninja"]
        env = dict(os.environ)
        env.setdefault("CCACHE_BASEDIR", ROOT)  # as ./run: objects shared with the other build trees
        env.setdefault("CCACHE_NOHASHDIR", "1")
        subprocess.run(configure, check=True, env=env)
        subprocess.run(["cmake", "--build", build, "--target", "grokscope_python", "-j", jobs], check=True, env=env)
        built = [f for f in os.listdir(os.path.join(build, "python")) if f.startswith("grokscope.") and f.endswith(".so")]
        if len(built) != 1:
            raise RuntimeError("grokscope: expected one built module in %s/python, found %s" % (build, built))
        target = self.get_ext_fullpath(ext.name)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.copyfile(os.path.join(build, "python", built[0]), target)
        # the type stub, written from the module just built, beside it in the wheel
        stub_env = dict(env, PYTHONPATH=os.path.dirname(target))
        subprocess.run([sys.executable, os.path.join(ROOT, "tools", "make_stubs.py"),
                        os.path.join(os.path.dirname(target), "grokscope.pyi")], check=True, env=stub_env)


setup(name="grokscope", version=version(), ext_modules=[CMakeExtension("grokscope")],
      cmdclass={"build_ext": CMakeBuild}, zip_safe=False)
