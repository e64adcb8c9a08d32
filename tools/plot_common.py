"""Helpers shared by the example plotting scripts in tools/."""
import csv


def read_history(path):
    """A grokscope history.csv as {column: [float, ...]} (NaN where a probe did not run)."""
    with open(path, newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        rows = [[float(v) for v in r] for r in reader]
    return {name: [r[i] for r in rows] for i, name in enumerate(header)}
