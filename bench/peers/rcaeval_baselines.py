"""RCAEval baselines for bench/ml.ts, run on the same held-out simulator incidents as our analysis.
Usage: python rcaeval_baselines.py <incidents.json>
Each incident: {"scenario", "root", "inject_step", "columns": [...], "rows": [[...], ...]} where
columns are "<entity>_<metric>" (entity = node id or link id a--b). A method's ranking of columns
becomes a ranking of entities (first appearance). Prints one JSON object on stdout."""
import json
import sys
import time
import warnings

warnings.filterwarnings("ignore")

import pandas as pd  # noqa: E402
from RCAEval.e2e.baro import baro  # noqa: E402
from RCAEval.e2e.circa import circa  # noqa: E402
from RCAEval.e2e.pc_randomwalk import pc_randomwalk  # noqa: E402

METHODS = {"baro": baro, "pc_randomwalk": pc_randomwalk, "circa": circa}
# PC-based and regression-based methods do not finish on ~300 columns × 12 rows (pc_randomwalk took
# over 5 minutes for one incident here), so they get the K columns that changed most after the
# fault began (the same robust z-score BARO ranks by). BARO gets every column.
PREFILTER = {"pc_randomwalk": 20, "circa": 20}


def most_changed(df, inject_step, k):
    from sklearn.preprocessing import RobustScaler

    cols = [c for c in df.columns if c != "time"]
    normal, anomal = df[df["time"] < inject_step], df[df["time"] >= inject_step]
    score = {}
    for c in cols:
        a = normal[c].to_numpy().reshape(-1, 1)
        if a.std() == 0 and anomal[c].std() == 0:
            continue
        z = RobustScaler().fit(a).transform(anomal[c].to_numpy().reshape(-1, 1))[:, 0]
        score[c] = abs(z).max()
    keep = sorted(score, key=score.get, reverse=True)[:k]
    return df[["time", *keep]]


def entity_ranking(ranks):
    out = []
    for col in ranks:
        ent = col.rsplit("_", 1)[0]
        if ent not in out:
            out.append(ent)
    return out


def main():
    incidents = json.load(open(sys.argv[1]))
    only = sys.argv[2].split(",") if len(sys.argv) > 2 else list(METHODS)
    result = {}
    for name in only:
        fn = METHODS[name]
        per = {}
        t0 = time.perf_counter()
        failed = 0
        for inc in incidents:
            df = pd.DataFrame(inc["rows"], columns=inc["columns"])
            df.insert(0, "time", range(len(df)))
            if name in PREFILTER:
                df = most_changed(df, inc["inject_step"], PREFILTER[name])
            try:
                r = fn(df, inject_time=inc["inject_step"], dataset="x0t-sim")
                ranking = entity_ranking(r["ranks"])
            except Exception as e:  # noqa: BLE001 - a failed run counts as a miss, and is reported
                failed += 1
                print(f"{name} failed on an incident: {type(e).__name__}: {e}", file=sys.stderr)
                ranking = []
            p = per.setdefault(inc["scenario"], {"n": 0, "top1": 0, "top3": 0})
            p["n"] += 1
            p["top1"] += int(ranking[:1] == [inc["root"]])
            p["top3"] += int(inc["root"] in ranking[:3])
        n = sum(p["n"] for p in per.values())
        result[name] = {
            "top1": sum(p["top1"] for p in per.values()) / n,
            "top3": sum(p["top3"] for p in per.values()) / n,
            "per_class": {k: {"top1": v["top1"] / v["n"], "top3": v["top3"] / v["n"], "n": v["n"]} for k, v in per.items()},
            "failed": failed,
            "seconds": time.perf_counter() - t0,
            "columns": f"top {PREFILTER[name]} most changed" if name in PREFILTER else "all",
        }
        print(f"{name}: top-1 {result[name]['top1']:.3f} in {result[name]['seconds']:.0f} s", file=sys.stderr)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
