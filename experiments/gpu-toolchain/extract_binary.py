#!/usr/bin/env python3
"""Pull the payload out of a `gpu.binary` op printed by mlir-opt.

After `gpu-module-to-binary` (or `--gpu-lower-to-nvvm-pipeline`), the module
holds e.g.

    gpu.binary @kernels [#gpu.object<#nvvm.target<chip = "sm_90a", ...>,
                          properties = {...}, bin = "\\7FELF\\02...">]

The payload key is `bin` (format=bin: a cubin ELF), `assembly` (format=isa:
PTX text) or `object` / `offload` for other formats.  MLIR prints the string
with llvm::printEscapedString: printable ASCII other than `"` and `\\` as is,
`\\\\` for a backslash, and `\\XX` (two hex digits) for every other byte.

Usage:
    extract_binary.py IN.mlir OUT_FILE [--module NAME] [--index N]
    extract_binary.py IN.mlir --list

Writes the raw bytes of the payload of object N (default 0) of the
gpu.binary named NAME (default: the first one).  Fails loudly when the
payload key is missing, so a format mix-up does not go unnoticed.
"""
import argparse
import re
import sys

PAYLOAD_KEYS = ("bin", "assembly", "object", "offload")


def unescape_mlir_string(text: str, start: int):
    """Decode the MLIR string literal whose opening quote is at text[start].

    Returns (bytes, index just past the closing quote)."""
    assert text[start] == '"'
    out = bytearray()
    i = start + 1
    n = len(text)
    while i < n:
        c = text[i]
        if c == '"':
            return bytes(out), i + 1
        if c == "\\":
            nxt = text[i + 1]
            if nxt == "\\":
                out.append(0x5C)
                i += 2
                continue
            if nxt == '"':  # not produced by the printer, accepted anyway
                out.append(0x22)
                i += 2
                continue
            if nxt == "n":
                out.append(0x0A)
                i += 2
                continue
            if nxt == "t":
                out.append(0x09)
                i += 2
                continue
            hx = text[i + 1 : i + 3]
            if not re.fullmatch(r"[0-9A-Fa-f]{2}", hx):
                raise ValueError(f"bad escape \\{hx!r} at offset {i}")
            out.append(int(hx, 16))
            i += 3
            continue
        # the printer only leaves printable ASCII unescaped
        out.extend(c.encode("latin-1"))
        i += 1
    raise ValueError("unterminated string literal")


def find_objects(text: str):
    """Yield (binary_name, object_index, target_text, key, payload_bytes)."""
    for bm in re.finditer(r"gpu\.binary\s+@([\w$.-]+)", text):
        name = bm.group(1)
        pos = bm.end()
        # end of this op: the next gpu.binary or end of text
        nxt = text.find("gpu.binary", pos)
        end = nxt if nxt >= 0 else len(text)
        idx = 0
        p = pos
        while True:
            om = text.find("#gpu.object<", p, end)
            if om < 0:
                break
            # target attribute text, for information
            tm = re.compile(r"#\w+\.target<[^>]*>").search(text, om)
            target = tm.group(0) if tm else "?"
            # the first payload key after the object start
            km = re.compile(r"\b(" + "|".join(PAYLOAD_KEYS) + r')\s*=\s*"').search(text, om, end)
            if not km:
                raise ValueError(f"gpu.binary @{name}: object {idx} has no payload")
            data, after = unescape_mlir_string(text, km.end() - 1)
            yield name, idx, target, km.group(1), data
            idx += 1
            p = after


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("input")
    ap.add_argument("output", nargs="?")
    ap.add_argument("--module", default=None, help="gpu.binary symbol name")
    ap.add_argument("--index", type=int, default=0, help="object index in the binary")
    ap.add_argument("--expect", choices=PAYLOAD_KEYS, default=None,
                    help="fail unless the payload key is this one")
    ap.add_argument("--list", action="store_true")
    a = ap.parse_args(argv)
    text = open(a.input, encoding="latin-1").read()
    objs = list(find_objects(text))
    if not objs:
        sys.exit(f"{a.input}: no gpu.binary with a #gpu.object found")
    if a.list:
        for name, idx, target, key, data in objs:
            print(f"@{name}[{idx}] {target} {key}: {len(data)} bytes")
        return
    if not a.output:
        ap.error("output file required (or --list)")
    sel = [o for o in objs if (a.module is None or o[0] == a.module) and o[1] == a.index]
    if not sel:
        sys.exit(f"no object @{a.module}[{a.index}] in {a.input}")
    name, idx, target, key, data = sel[0]
    if a.expect and key != a.expect:
        sys.exit(f"@{name}[{idx}] payload is '{key}', expected '{a.expect}'")
    if key == "bin" and not data.startswith(b"\x7fELF"):
        sys.exit(f"@{name}[{idx}] 'bin' payload is not an ELF file")
    with open(a.output, "wb") as f:
        f.write(data)
    print(f"wrote {a.output}: @{name}[{idx}] {target} {key}, {len(data)} bytes")


if __name__ == "__main__":
    main()
