"""Helpers shared by the example plotting scripts in tools/."""
import csv
import math
import os


def read_history(path):
    """A grokscope history.csv as {column: [float, ...]} (NaN where a probe did not run)."""
    with open(path, newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        rows = [[float(v) for v in r] for r in reader]
    return {name: [r[i] for r in rows] for i, name in enumerate(header)}


# Verdict names of the grokking detectors and their colours in every plot.
VERDICTS = ["grokked", "no_delay", "memorized_only", "partial", "ungrokked", "not_fit", "undetermined"]
VERDICT_COLORS = ["#2a9d8f", "#8ab17d", "#e76f51", "#f4a261", "#e9c46a", "#6c757d", "#d9d9d9"]


def finite(xs, ys, positive_x=False):
    """The points (x, y) with a finite y (and x > 0 when positive_x, for log axes), as two lists."""
    pts = [(x, y) for x, y in zip(xs, ys) if not math.isnan(y) and (x > 0 or not positive_x)]
    return [p[0] for p in pts], [p[1] for p in pts]


def save(fig, out_dir, name, dpi=110):
    """Lays the figure out, writes OUT_DIR/NAME and prints the path."""
    fig.tight_layout()
    path = os.path.join(out_dir, name)
    fig.savefig(path, dpi=dpi)
    print(path)
