#!/usr/bin/env python3
"""Where a .wasm's bytes go: its sections, and its code by crate and by function.

Usage: scripts/run/size.py MODULE.wasm [TOP]

Read the module cargo links (target/wasm32-unknown-unknown/release/*.wasm): it
still has its name section, which wasm-bindgen and wasm-opt drop from what ships.
Their shrinking is even across crates, so the shares hold for the shipped module.
"""
import re
import sys
from collections import Counter

SECTIONS = {0: "custom", 1: "type", 2: "import", 3: "function", 4: "table", 5: "memory", 6: "global",
            7: "export", 8: "start", 9: "element", 10: "code", 11: "data", 12: "datacount"}


def leb(data, i):
    value = shift = 0
    while True:
        byte = data[i]
        i += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, i


def name(data, i):
    n, i = leb(data, i)
    return data[i:i + n].decode("utf-8", "replace"), i + n


def imported_functions(body):
    count, i = leb(body, 0)
    functions = 0
    for _ in range(count):
        _, i = name(body, i)
        _, i = name(body, i)
        kind = body[i]
        i += 1
        if kind == 0:  # function: a type index
            _, i = leb(body, i)
            functions += 1
        elif kind == 1:  # table: reftype, limits
            i += 1
            flags, i = leb(body, i + 0)
            _, i = leb(body, i)
            if flags & 1:
                _, i = leb(body, i)
        elif kind == 2:  # memory: limits
            flags, i = leb(body, i)
            _, i = leb(body, i)
            if flags & 1:
                _, i = leb(body, i)
        elif kind == 3:  # global: valtype, mutability
            i += 2
        elif kind == 4:  # tag
            i += 1
            _, i = leb(body, i)
    return functions


def function_names(body):
    names, i = {}, 0
    while i < len(body):
        kind = body[i]
        size, i = leb(body, i + 1)
        if kind == 1:
            count, j = leb(body, i)
            for _ in range(count):
                index, j = leb(body, j)
                names[index], j = name(body, j)
        i += size
    return names


ESCAPES = {"$LT$": "<", "$GT$": ">", "$RF$": "&", "$BP$": "*", "$C$": ",", "$SP$": "@", "$u20$": " ",
           "$u27$": "'", "$u5b$": "[", "$u5d$": "]", "$u7b$": "{", "$u7d$": "}", "$u3b$": ";", "..": "::"}


def idents(mangled, v0=False):
    """The identifiers of a mangled path, each written as its length and itself."""
    out, i = [], 0
    while i < len(mangled):
        digits = re.match(r"\d+", mangled[i:])
        if not digits:
            i += 1
            continue
        n, i = int(digits.group()), i + len(digits.group())
        i += v0 and mangled[i:i + 1] == "_"  # v0 separates one that starts with a digit or _
        out.append(mangled[i:i + n])
        i += n
    return out


def demangle(symbol):
    """Rust's legacy (`_ZN...E`) and v0 (`_R...`) symbols, enough to read and group."""
    if symbol.startswith("_ZN"):
        parts = idents(symbol[3:].removesuffix("E"))
        if parts and re.fullmatch(r"h[0-9a-f]{16}", parts[-1]):
            parts.pop()
        path = "::".join(parts).lstrip("_")
        for escape, char in ESCAPES.items():
            path = path.replace(escape, char)
        return path
    if symbol.startswith("_R"):
        # v0: disambiguators (s<base 62>_) follow a crate root, a namespace or an impl.
        plain = re.sub(r"(C|N[A-Za-z]|[MXY])s[0-9A-Za-z]*_", r"\1", symbol[2:])
        return "::".join(p for p in idents(plain, v0=True) if p)
    return symbol


def crate(function):
    """The crate a demangled Rust name belongs to: `<a::B as c::D>::f` is a's."""
    path = function.lstrip("<&*").removeprefix("mut ").removeprefix("dyn ")
    head = path.split("::", 1)[0]
    return head if head and head.replace("_", "").isalnum() else "(other)"


def main():
    path = sys.argv[1]
    top = int(sys.argv[2]) if len(sys.argv) > 2 else 25
    data = open(path, "rb").read()
    assert data[:4] == b"\0asm", f"{path} is not a wasm module"
    i, sections, bodies, names, imports = 8, Counter(), [], {}, 0
    while i < len(data):
        sid = data[i]
        size, start = leb(data, i + 1)
        body = data[start:start + size]
        if sid == 0:
            custom, _ = name(body, 0)
            sections[f"custom {custom}"] += size
            if custom == "name":
                names = function_names(body[len(custom) + 1:])
        else:
            sections[SECTIONS.get(sid, str(sid))] += size
        if sid == 2:
            imports = imported_functions(body)
        if sid == 10:
            count, j = leb(body, 0)
            for _ in range(count):
                fsize, k = leb(body, j)
                bodies.append(fsize + (k - j))
                j = k + fsize
        i = start + size

    total = len(data)
    print(f"{path}: {total / 1024:.0f} KiB")
    print("\nsections")
    for section, size in sections.most_common():
        print(f"  {size / 1024:8.1f} KiB {100 * size / total:5.1f}%  {section}")
    if not names:
        print("\n(no name section: read the module cargo links, before wasm-bindgen)")
        return
    code = sum(bodies)
    functions = [(size, demangle(names.get(imports + k, f"function {imports + k}"))) for k, size in enumerate(bodies)]
    by_crate = Counter()
    for size, function in functions:
        by_crate[crate(function)] += size
    print(f"\ncode by crate ({code / 1024:.0f} KiB)")
    for owner, size in by_crate.most_common(top):
        print(f"  {size / 1024:8.1f} KiB {100 * size / code:5.1f}%  {owner}")
    by_module = Counter()
    for size, function in functions:
        by_module["::".join(function.lstrip("<").split("::")[:3])] += size
    print("\ncode by module (generic code counts where it is defined: alloc::collections::btree")
    print("is every BTreeMap instantiated, whoever uses it)")
    for module, size in by_module.most_common(top):
        print(f"  {size / 1024:8.1f} KiB {100 * size / code:5.1f}%  {module[:110]}")
    print("\nlargest functions")
    for size, function in sorted(functions, reverse=True)[:top]:
        print(f"  {size / 1024:8.1f} KiB  {function[:150]}")


if __name__ == "__main__":
    main()
