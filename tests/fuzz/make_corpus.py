#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Copyright (c) 2026 The grokscope authors
"""Writes the seed corpora (corpus/<harness>/) and the reproducers (reproducers/<harness>/) of the
fuzz harnesses. Standard library only. Seeds are small valid inputs of each format, so the fuzzer
starts inside the format; reproducers are the inputs that crashed, overread or misled the
readers before they were fixed (issue #17), kept so that CTest replays them on every run.

    python3 tests/fuzz/make_corpus.py      # rewrites both folders next to this script
"""
import gzip
import json
import os
import shutil
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def npy(descr, shape, payload, fortran=False, extra=""):
    shape_txt = "(" + ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"
    d = "{'descr': '%s', 'fortran_order': %s, %s'shape': %s, }" % (descr, "True" if fortran else "False", extra,
                                                                      shape_txt)
    pad = (64 - (10 + len(d) + 1) % 64) % 64
    header = (d + " " * pad + "\n").encode("latin-1")
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header + payload


def f8(*v):
    return struct.pack("<%dd" % len(v), *v)


def idx(type_code, dims, payload):
    return bytes([0, 0, type_code, len(dims)]) + b"".join(struct.pack(">I", d) for d in dims) + payload


def sweep_record(**changes):
    r = {"complete": True, "id": "wd=0.1_seed=0", "index": 0, "params": {"wd": 0.1}, "seed": 0, "status": "ok",
         "verdict": "grokked", "t_mem": 10, "t_grok": 100, "gap": 90, "final": {"test_acc": 1.0}, "steps_done": 200}
    for k, v in changes.items():
        if v is KeyError:
            del r[k]
        else:
            r[k] = v
    return json.dumps(r).encode()


def doubles(rows, mode=0):
    return bytes([mode]) + b"".join(struct.pack("<3d", *r) for r in rows)


def grokking_rows(scale=1.0, offset=0.0):
    return [(offset + scale * s, 1.0 if s >= 5 else 0.1, 1.0 if s >= 30 else 0.05) for s in range(0, 40)]


CORPUS = {
    "npy": {
        "f8_3x4.npy": npy("<f8", (3, 4), f8(*range(12))),
        "f4_rank1.npy": npy("<f4", (5,), struct.pack("<5f", 1, 2, 3, 4, 5)),
        "i8_2x2.npy": npy("<i8", (2, 2), struct.pack("<4q", 1, -2, 300, 4)),
        "u1_2x3.npy": npy("|u1", (2, 3), bytes(range(6))),
        "f8_fortran.npy": npy("<f8", (2, 3), f8(*range(6)), fortran=True),
        "f8_rank3.npy": npy("<f8", (2, 1, 2), f8(1, 2, 3, 4)),
        "f8_empty.npy": npy("<f8", (0, 3), b""),
        "f8_scalar.npy": npy("<f8", (), f8(7)),
    },
    "idx": {
        # first byte even: written as it is; odd: gzip-compressed first (see fuzz_idx.cpp)
        "u8_images.idx": b"\x00" + idx(0x08, (2, 2, 2), bytes(range(8))),
        "u8_labels.idx": b"\x00" + idx(0x08, (4,), bytes([0, 1, 0, 1])),
        "i32_labels_gz.idx": b"\x01" + idx(0x0C, (2,), struct.pack(">2i", 0, 1)),
        "f32_gz.idx": b"\x01" + idx(0x0D, (2, 1), struct.pack(">2f", 0.5, 1.5)),
        "f64.idx": b"\x00" + idx(0x0E, (1,), struct.pack(">d", 2.5)),
        "i16.idx": b"\x00" + idx(0x0B, (2,), struct.pack(">2h", -1, 1)),
        "gzip_file.idx": b"\x00" + gzip.compress(idx(0x08, (3,), bytes([2, 1, 0]))),
    },
    "csv": {
        "log.csv": b"step,train_acc,test_acc\n" + b"".join(
            b"%d,%g,%g\n" % (s, 1.0 if s >= 5 else 0.1, 1.0 if s >= 30 else 0.05) for s in range(40)),
        "quoted.csv": b'step,"train, acc",note\r\n0,0.5,"a ""b"""\r\n10,1,\r\n',
        "semicolon.csv": b"step;train;test\n0;0.1;0.0\n1;1;0.2\n2;1;1\n",
        "specials.csv": b"step,train_loss,test_loss\n0,nan,inf\n1,-inf,1e400\n2,1e-400,+3\n",
        "bom.csv": b"\xef\xbb\xbfstep,train_acc,test_acc\n0,0,0\n",
    },
    "detect": {
        "grokking.bin": doubles(grokking_rows()),
        "grokking_loss_log.bin": doubles([(s + 1, 1 - a, 1 - b) for s, a, b in grokking_rows()], mode=3),
        "unsorted.bin": doubles(list(reversed(grokking_rows())), mode=8),
    },
    "params": {
        "w.npy": npy("<f4", (2, 3), struct.pack("<6f", *range(6))),
        "b_rank1.npy": npy("<f8", (3,), f8(1, 2, 3)),
    },
    "sweep": {
        "record.json": sweep_record(),
        "error.json": sweep_record(status="error", error="out of memory", t_mem=None, t_grok=None, gap=None),
        "incomplete.json": sweep_record(complete=False),
    },
}

REPRODUCERS = {
    "npy": {
        # (0, 2^63 + 1): zero elements, a column count beyond Index
        "zero_then_huge.npy": npy("<f8", (0, 2 ** 63 + 1), b""),
        "zero_then_2_62.npy": npy("<f8", (0, 2 ** 62), b""),
        # an extra key holding the text 'shape': (6,) made a 2 x 3 file load as 6 x 1
        "shape_text_in_extra_key.npy": npy("<f8", (2, 3), f8(*range(6)), extra="'x': \"'shape': (6,)\", "),
        "nan_to_int.npy": npy("<f8", (3,), f8(1, float("nan"), 3)),
        "inf_to_int.npy": npy("<f8", (2,), f8(float("inf"), 1e30)),
        "narrowing.npy": npy("<i8", (2,), struct.pack("<2q", 300, -1)),
        "f8_overflows_f4.npy": npy("<f8", (1,), f8(1e300)),
    },
    "idx": {
        "zero_then_huge_dims.idx": b"\x00" + idx(0x08, (0, 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF), b""),
        "huge_label.idx": b"\x00" + idx(0x0C, (2,), struct.pack(">2i", 0, 500000000)),
        "max_label_gz.idx": b"\x01" + idx(0x0C, (2,), struct.pack(">2i", 0, 2147483647)),
    },
    "csv": {
        "steps_near_dbl_max.csv": b"step,train_acc,test_acc\n-1e308,0,0\n-5e307,1,0\n0,1,0\n2.5e307,1,1\n"
                                  b"5e307,1,1\n1e308,1,1\n",
        "binary.csv": b"step\x00,a\n\x89PNG",
    },
    "detect": {
        "span_overflows.bin": doubles([(-1e308, 0, 0), (-5e307, 1, 0), (0, 1, 0), (2.5e307, 1, 1), (5e307, 1, 1),
                                       (1e308, 1, 1)]),
        "span_overflows_log.bin": doubles([(1e-300 * (i + 1), 1, i / 10) for i in range(10)] + [(1e308, 1, 1)] * 3,
                                          mode=2),
    },
    "params": {
        "huge_shape_no_data.npy": npy("<f4", (1000000, 1000000), b""),
    },
    "sweep": {
        "no_params.json": sweep_record(params=KeyError),
        "no_id.json": sweep_record(id=KeyError),
        "no_final.json": sweep_record(final=KeyError),
        "id_is_number.json": sweep_record(id=5),
        "complete_is_string.json": sweep_record(complete="yes"),
        "seed_negative.json": sweep_record(seed=-1),
        "final_text.json": sweep_record(final={"test_acc": "high"}),
        "array.json": b"[1, 2, 3]",
        "not_utf8.json": b'{"complete": true, "id": "\xff\xfe"}',
    },
}


def write(tree, root):
    if os.path.isdir(root):
        shutil.rmtree(root)
    for harness, files in tree.items():
        os.makedirs(os.path.join(root, harness))
        for name, data in files.items():
            with open(os.path.join(root, harness, name), "wb") as f:
                f.write(data)


if __name__ == "__main__":
    write(CORPUS, os.path.join(HERE, "corpus"))
    write(REPRODUCERS, os.path.join(HERE, "reproducers"))
    print("wrote", sum(len(v) for v in CORPUS.values()), "seeds and", sum(len(v) for v in REPRODUCERS.values()),
          "reproducers")
