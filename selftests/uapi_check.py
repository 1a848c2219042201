#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Check that uapi/linux/esptun.h agrees with uapi/esptun.yaml.

The C names follow the kernel's ynl-gen-c conventions: FAMILY_FAMILY_NAME /
_VERSION, FAMILY_A_[SET_]ATTR for attributes (the set named like the family
has no SET part), FAMILY_CMD_OP for operations and notifications,
FAMILY_MCGRP_GROUP for multicast groups, FAMILY_ENUM_ENTRY for enums and
FAMILY_CONST for constants.  The header is compiled and every expected name
must have the spec's value; every FAMILY_ name in the header must come from
the spec.  Prints one line per problem and exits 1 if there is any.
"""
import os
import re
import subprocess
import sys
import tempfile

import yaml


def c_name(*parts):
    return "_".join(p.upper().replace("-", "_") for p in parts if p)


def expected(spec):
    fam = spec["name"]
    names = {c_name(fam, "family-name"): '"%s"' % fam,
             c_name(fam, "family-version"): str(spec.get("version", 1))}
    problems = []
    for d in spec.get("definitions", []):
        if d["type"] == "const":
            names[c_name(fam, d["name"])] = str(d["value"])
        elif d["type"] in ("enum", "flags"):
            start = d.get("value-start", 0)
            for i, e in enumerate(d["entries"]):
                e = e["name"] if isinstance(e, dict) else e
                v = 1 << (start + i) if d["type"] == "flags" else start + i
                names[c_name(fam, d["name"], e)] = str(v)
    sets = {}
    for s in spec["attribute-sets"]:
        prefix = c_name(fam, "a", None if s["name"] == fam else s["name"])
        v = 0
        sets[s["name"]] = {a["name"] for a in s["attributes"]}
        for a in s["attributes"]:
            v = a.get("value", v + 1)
            names[prefix + "_" + c_name(a["name"])] = str(v)
        names["__" + prefix + "_MAX"] = str(v + 1)
        names[prefix + "_MAX"] = str(v)
    for s in spec["attribute-sets"]:
        for a in s["attributes"]:
            n = a.get("nested-attributes")
            if n and n not in sets:
                problems.append("attribute %s.%s nests unknown set %s" %
                                (s["name"], a["name"], n))
    ops = spec["operations"]["list"]
    v = 0
    for op in ops:
        v = op.get("value", v + 1)
        names[c_name(fam, "cmd", op["name"])] = str(v)
        aset = op.get("attribute-set")
        if aset and aset not in sets:
            problems.append("operation %s uses unknown set %s" % (op["name"], aset))
            continue
        for mode in ("do", "dump"):
            for part in ("request", "reply"):
                attrs = (op.get(mode) or {}).get(part, {}) or {}
                for a in attrs.get("attributes", []):
                    if a not in sets.get(aset, ()):
                        problems.append("operation %s %s %s names unknown attribute %s"
                                        % (op["name"], mode, part, a))
    names["__" + c_name(fam, "cmd", "max")] = str(v + 1)
    names[c_name(fam, "cmd", "max")] = str(v)
    for g in spec.get("mcast-groups", {}).get("list", []):
        names[c_name(fam, "mcgrp", g["name"])] = '"%s"' % g["name"]
    return names, problems


def main(argv):
    yaml_path, header = argv[1], argv[2]
    with open(yaml_path) as f:
        spec = yaml.safe_load(f)
    names, problems = expected(spec)
    fam = c_name(spec["name"])

    with open(header) as f:
        text = f.read()
    guard = re.search(r"#ifndef\s+(\w+)", text).group(1)
    in_header = set(re.findall(r"\b(_*%s_\w+)\b" % fam, text)) - {guard}
    for n in sorted(in_header - set(names)):
        problems.append("%s: %s is not in %s" % (header, n, yaml_path))
    for n in sorted(set(names) - in_header):
        problems.append("%s: %s (from the spec) is missing" % (header, n))

    present = sorted(set(names) & in_header)
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "c.c")
        with open(src, "w") as f:
            f.write('#include <stdio.h>\n#include "%s"\n#define S(x) #x\n'
                    '#define V(x) S(x)\nint main(void)\n{\n' % os.path.abspath(header))
            for n in present:
                if names[n].startswith('"'):
                    f.write('\tprintf("%%s=%%s\\n", "%s", V(%s));\n' % (n, n))
                else:
                    f.write('\tprintf("%%s=%%lld\\n", "%s", (long long)(%s));\n' % (n, n))
            f.write("\treturn 0;\n}\n")
        exe = os.path.join(tmp, "c")
        cc = subprocess.run(["cc", "-Wall", "-Werror", "-o", exe, src],
                            capture_output=True, text=True)
        if cc.returncode:
            problems.append("%s does not compile:\n%s" % (header, cc.stderr))
        else:
            out = subprocess.run([exe], capture_output=True, text=True).stdout
            for line in out.splitlines():
                n, v = line.split("=", 1)
                if v != names[n]:
                    problems.append("%s: %s is %s, the spec says %s"
                                    % (header, n, v, names[n]))
    for p in problems:
        print(p)
    if not problems:
        print("%s agrees with %s (%d names)" % (header, yaml_path, len(names)))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
