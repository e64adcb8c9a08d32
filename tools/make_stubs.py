#!/usr/bin/python3
"""Writes grokscope.pyi, the type stub of the compiled module, from the signatures pybind11 puts on
the first line of every docstring, so that an IDE completes every name with its arguments, and
shows its docstring.

usage: /usr/bin/python3 tools/make_stubs.py OUT.pyi      (with the built module importable)
"""
import inspect
import re
import sys

import grokscope

TYPES = [
    (r"numpy\.ndarray\[[^\]]*\]", "numpy.ndarray"),
    (r"\bList\[", "list["), (r"\bDict\[", "dict["), (r"\bTuple\[", "tuple["), (r"\bSet\[", "set["),
    (r"\bOptional\[", "typing.Optional["), (r"\bCallable\[", "typing.Callable["),
    (r"\bhandle\b", "typing.Any"), (r"\bobject\b", "typing.Any"), (r"\bfunction\b", "typing.Callable[..., typing.Any]"),
    (r"\bgrokscope\.", ""), (r"\bnumpy\.float64\b", "float"),
]


def clean(text):
    for pattern, repl in TYPES:
        text = re.sub(pattern, repl, text)
    return text


def signatures(obj, name):
    """The overloads' signature lines of a pybind11 callable."""
    doc = obj.__doc__ or ""
    lines = [line for line in doc.splitlines() if re.match(r"(\d+\. )?%s\(" % re.escape(name), line)]
    return [re.sub(r"^\d+\. ", "", line) for line in lines] or ["%s(*args, **kwargs) -> typing.Any" % name]


def body_doc(obj, indent):
    doc = [line for line in (obj.__doc__ or "").splitlines() if not re.match(r"(\d+\. )?\w+\(.*\)( -> .*)?$", line)]
    text = "\n".join(doc).strip().replace('"""', "'''").replace("\\", "\\\\")
    return '%s"""%s"""' % (indent, text) if text else "%s..." % indent


def function(obj, name, indent="", method=False):
    out = []
    sigs = signatures(obj, name)
    for sig in sigs:
        m = re.match(r"(\w+)\((.*)\)(?: -> (.*))?$", sig)
        if not m:
            continue
        args, ret = clean(m.group(2)), clean(m.group(3) or "None")
        args = re.sub(r"=\s*<[^>]*>", "= ...", args)  # defaults that are not literals
        args = re.sub(r"(=\s*)([^,()\[\]]*\([^)]*\))", r"\1...", args)
        if method and not args.startswith("self"):
            args = "self" + (", " + args if args else "")
        if len(sigs) > 1:
            out.append("%s@typing.overload" % indent)
        out.append("%sdef %s(%s) -> %s:" % (indent, name, args, ret))
        out.append(body_doc(obj, indent + "    "))
    return out


def main():
    out = ["# The type stub of grokscope's compiled module, written by tools/make_stubs.py from the",
           "# module's own signatures and docstrings.", "import typing", "", "import numpy", "",
           "__version__: str", ""]
    for name, obj in sorted(vars(grokscope).items()):
        if name.startswith("__"):
            continue
        if inspect.isclass(obj):
            base = "Warning" if issubclass(obj, Warning) else "MemoryError" if issubclass(obj, MemoryError) else ""
            out.append("class %s(%s):" % (name, base) if base else "class %s:" % name)
            out.append(body_doc(obj, "    "))
            for attr, member in sorted(vars(obj).items()):
                if attr.startswith("_") and attr not in ("__init__", "__call__", "__len__", "__getitem__"):
                    continue
                if isinstance(member, property):
                    out.append("    @property")
                    out.append("    def %s(self) -> typing.Any: ..." % attr)
                elif callable(member):
                    out.extend(function(member, attr, "    ", method=True))
            out.append("")
        elif callable(obj):
            out.extend(function(obj, name))
            out.append("")
        else:
            out.append("%s: typing.Any" % name)
    text = "\n".join(out) + "\n"
    compile(text, "grokscope.pyi", "exec")  # the stub must be valid Python
    with open(sys.argv[1], "w") as f:
        f.write(text)
    print("wrote %s: %d names" % (sys.argv[1], sum(1 for n in vars(grokscope) if not n.startswith("__"))))


if __name__ == "__main__":
    main()
