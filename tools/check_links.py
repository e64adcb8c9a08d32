#!/usr/bin/python3
"""Checks every relative link and image of README.md and docs/*.md: the file exists, and a
#fragment names a heading of the target page (GitHub's anchors: lower case, punctuation dropped,
spaces to hyphens, -1, -2 … for repeats). Links to other sites are not followed.

usage: /usr/bin/python3 tools/check_links.py [REPO_ROOT]     exit 1 and one line per broken link
"""
import os
import re
import sys

LINK = re.compile(r"!?\[(?:[^\]\[]|\[[^\]]*\])*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")


def anchors(path):
    out, seen, code = set(), {}, False
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.startswith("```"):
                code = not code
            if code:
                continue
            m = re.match(r"(#{1,6})\s+(.*?)\s*#*\s*$", line)
            if not m:
                continue
            slug = re.sub(r"[^\w\- ]", "", m.group(2).strip().lower()).replace(" ", "-")
            n = seen.get(slug, 0)
            seen[slug] = n + 1
            out.add(slug if n == 0 else "%s-%d" % (slug, n))
    return out


def links(path):
    code = False
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if line.startswith("```"):
                code = not code
            if code:
                continue
            for m in LINK.finditer(re.sub(r"`[^`]*`", "", line)):
                yield number, m.group(1)


def main():
    root = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), ".."))
    pages = [os.path.join(root, "README.md")] + sorted(
        os.path.join(root, "docs", f) for f in os.listdir(os.path.join(root, "docs")) if f.endswith(".md"))
    broken, count, cache = [], 0, {}
    for page in pages:
        for number, target in links(page):
            if re.match(r"[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto:
                continue
            count += 1
            path, _, fragment = target.partition("#")
            file = os.path.normpath(os.path.join(os.path.dirname(page), path)) if path else page
            where = "%s:%d: %s" % (os.path.relpath(page, root), number, target)
            if not os.path.exists(file):
                broken.append(where + " (no such file)")
            elif fragment and file.endswith(".md"):
                if file not in cache:
                    cache[file] = anchors(file)
                if fragment not in cache[file]:
                    broken.append(where + " (no heading #%s)" % fragment)
    for b in broken:
        print(b)
    print("%d relative links in %d pages, %d broken" % (count, len(pages), len(broken)))
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
