#!/usr/bin/env python3
"""matrix.py: turn the console logs of vm-check runs into the kernel x feature matrix.

Usage: vm/matrix.py OUT_PREFIX LOG...   writes OUT_PREFIX.md and OUT_PREFIX.json, prints
the Markdown table, exits 1 if any cell failed or a run gave no e2e result.

A log holds "@@VM-KERNEL release cgroup=mode", "@@FEATURE name pass|fail|skip reason" lines
(vm/probe.sh) and the e2e output between "@@VM-BEGIN e2e" and "@@VM-END e2e rc=N".  Each
e2e test is grouped by the tests/e2e/t_AREA.sh file that defines it: a group fails if any
test in it failed, is a skip if every test in it skipped, and passes otherwise.
"""
import glob
import json
import os
import re
import sys

FEATURES = ["namespaces", "userns", "overlay", "pivot_root", "seccomp", "cgroup_limits",
            "veth", "bridge", "nftables", "nft_publish"]


def test_groups(e2e_dir):
    groups = {}
    for path in sorted(glob.glob(os.path.join(e2e_dir, "t_*.sh"))):
        area = os.path.basename(path)[2:-3]
        for line in open(path, errors="replace"):
            m = re.match(r"(test_\w+)\s*\(\)", line)
            if m:
                groups[m.group(1)] = area
    return groups


def parse(path, groups):
    run = {"log": path, "kernel": "?", "cgroup": "?", "features": {}, "tests": {},
           "sections": {}, "e2e_summary": None}
    section = None
    for raw in open(path, errors="replace"):
        line = raw.rstrip("\r\n").replace("\r", "")
        m = re.match(r"@@VM-KERNEL (\S+) cgroup=(\S+)", line)
        if m:
            run["kernel"], run["cgroup"] = m.group(1), m.group(2)
            continue
        m = re.match(r"@@FEATURE (\S+) (pass|fail|skip) ?(.*)", line)
        if m:
            run["features"][m.group(1)] = {"status": m.group(2), "reason": m.group(3)}
            continue
        m = re.match(r"@@VM-BEGIN (\S+)", line)
        if m:
            section = m.group(1)
            continue
        m = re.match(r"@@VM-END (\S+) rc=(\d+)", line)
        if m:
            run["sections"][m.group(1)] = int(m.group(2))
            section = None
            continue
        if section == "check":
            run.setdefault("check_json", []).append(line)
            continue
        if section not in ("e2e", "e2e-enosys"):
            continue
        key = "" if section == "e2e" else " (enosys)"
        # "ok   test_x (1.2 s)": the time a test took is not a reason
        took = re.search(r" \((\d+\.\d) s\)$", line)
        if took:
            line = line[:took.start()]
        m = re.match(r"(ok  |FAIL|skip) (test_\w+):? ?(.*)", line)
        if m and took:
            run.setdefault("seconds", {})[m.group(2) + key] = float(took.group(1))
        if m:
            status = {"ok  ": "pass", "FAIL": "fail", "skip": "skip"}[m.group(1)]
            run["tests"][m.group(2) + key] = {"status": status, "reason": m.group(3),
                                              "group": groups.get(m.group(2), "other") + key}
        elif line.startswith("e2e: ") and section == "e2e":
            run["e2e_summary"] = line[5:]
    return run


# probe feature -> the `focker check` items that must be "ok" exactly when it passed.
AGREE = {"namespaces": ["namespace.mnt", "namespace.pid", "namespace.uts", "namespace.ipc",
                        "namespace.net"],
         "userns": ["namespace.user", "userns.sysctl"], "overlay": ["overlay"],
         "pivot_root": ["pivot_root"], "seccomp": ["seccomp"], "veth": ["veth"],
         "bridge": ["bridge"], "nftables": ["nftables"]}


def check_agreement(run):
    """Does `focker check` (run in the same boot) say what the probes found?"""
    try:
        items = {i["name"]: i["status"] for i in json.loads("\n".join(run.pop("check_json")))["items"]}
    except (KeyError, ValueError):
        return {"status": "skip", "reason": "focker check did not run"}
    diffs = []
    for feat, names in AGREE.items():
        probe = run["features"].get(feat, {}).get("status")
        if probe is None:
            continue
        check_ok = all(items.get(n) == "ok" for n in names)
        if (probe == "pass") != check_ok:
            diffs.append(f"{feat}: probe {probe}, check " +
                         ",".join(f"{n}={items.get(n)}" for n in names))
    if diffs:
        return {"status": "fail", "reason": "; ".join(diffs)}
    return {"status": "pass", "reason": ""}


def group_cells(run):
    cells = {}
    for t in run["tests"].values():
        c = cells.setdefault(t["group"], {"pass": 0, "fail": 0, "skip": 0, "reasons": []})
        c[t["status"]] += 1
        if t["status"] == "skip" and t["reason"] not in c["reasons"]:
            c["reasons"].append(t["reason"])
    out = {}
    for g, c in cells.items():
        n = c["pass"] + c["fail"] + c["skip"]
        status = "fail" if c["fail"] else ("skip" if c["skip"] == n else "pass")
        text = f"{status} {c['pass']}/{n}"
        if c["fail"]:
            text += f" ({c['fail']} failed)"
        if c["skip"]:
            text += f" ({c['skip']} skipped)"
        out[g] = {"status": status, "text": text, "reasons": c["reasons"]}
    return out


def main():
    prefix, logs = sys.argv[1], sys.argv[2:]
    groups = test_groups(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                                      "tests", "e2e"))
    runs = [parse(p, groups) for p in logs]
    bad = False
    rows = {}
    for r in runs:
        r["groups"] = group_cells(r)
        if "e2e" not in r["sections"] or r["e2e_summary"] is None:
            bad = True
            r["groups"]["(no result)"] = {"status": "fail", "text": "fail: no e2e result",
                                              "reasons": []}
    names = [f"{r['kernel']} ({r['cgroup']})" for r in runs]
    for f in FEATURES:
        rows[f] = [r["features"].get(f, {"status": "fail", "reason": "not probed"}) for r in runs]
    rows["focker check agrees"] = [check_agreement(r) for r in runs]
    all_groups = sorted({g for r in runs for g in r["groups"]})
    for g in all_groups:
        rows["e2e " + g] = [r["groups"].get(g, {"status": "skip", "text": "not run"})
                            for r in runs]
    md = ["| feature | " + " | ".join(names) + " |", "|---" * (len(runs) + 1) + "|"]
    for name, cells in rows.items():
        texts = []
        for c in cells:
            bad = bad or c["status"] == "fail"
            t = c.get("text") or c["status"]
            why = c.get("reason") or "; ".join(c.get("reasons", []))
            if c["status"] != "pass" and why:
                t += ": " + why
            texts.append(t.replace("|", "/"))
        md.append(f"| {name} | " + " | ".join(texts) + " |")
    md.append("")
    for r, n in zip(runs, names):
        line = f"- {n}: e2e {r['e2e_summary'] or 'no result'}"
        secs = r.get("seconds", {})
        if secs:
            # where CI's time goes: the total and the slowest tests of this run
            slow = sorted(secs.items(), key=lambda kv: -kv[1])[:3]
            line += f"; tests took {sum(secs.values()):.0f} s, slowest " + ", ".join(
                f"{t} {s:.0f} s" for t, s in slow)
        md.append(line)
    text = "\n".join(md) + "\n"
    open(prefix + ".md", "w").write("# focker kernel matrix\n\n" + text)
    json.dump({"runs": runs, "matrix": {k: dict(zip(names, v)) for k, v in rows.items()}},
              open(prefix + ".json", "w"), indent=1)
    sys.stdout.write(text)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
