#!/usr/bin/python3
"""Executes a Jupyter notebook from top to bottom in a fresh python3 kernel (Debian's
python3-nbclient and python3-ipykernel) and fails with the first error's cell and traceback.

usage: /usr/bin/python3 tools/run_notebook.py NOTEBOOK [--timeout SECONDS] [--save OUT.ipynb]
Exit status 0 when every cell ran, 1 when one raised, 77 when nbclient or ipykernel is missing
(CTest reports the test as skipped). The kernel inherits the environment (PYTHONPATH, threads).
"""
import argparse
import os
import sys

ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
ap.add_argument("notebook")
ap.add_argument("--timeout", type=int, default=600, help="per cell")
ap.add_argument("--save", help="write the executed notebook (with its outputs) here")
args = ap.parse_args()
try:
    import nbclient
    import nbformat
    import ipykernel  # noqa: F401 (the kernel nbclient starts)
except ImportError as e:
    print("run_notebook.py: %s (apt-get install python3-nbclient python3-ipykernel)" % e, file=sys.stderr)
    sys.exit(77)

# the kernel starts in the notebook's folder: PYTHONPATH entries relative to here must stay valid
if os.environ.get("PYTHONPATH"):
    os.environ["PYTHONPATH"] = os.pathsep.join(os.path.abspath(p) for p in os.environ["PYTHONPATH"].split(os.pathsep) if p)
nb = nbformat.read(args.notebook, as_version=4)
client = nbclient.NotebookClient(nb, timeout=args.timeout, kernel_name="python3",
                                 resources={"metadata": {"path": os.path.dirname(os.path.abspath(args.notebook))}})
status = 0
try:
    client.execute()
except nbclient.exceptions.CellExecutionError as e:
    print(str(e), file=sys.stderr)
    status = 1
for i, cell in enumerate(nb.cells):
    if cell.cell_type != "code":
        continue
    for out in cell.get("outputs", []):
        if out.get("output_type") == "stream":
            sys.stdout.write(out["text"])
if args.save:
    nbformat.write(nb, args.save)
sys.exit(status)
