"""Two label-efficiency records of the same design compared kind by kind, paired by training seed.

``python benchmarks/compare_label_efficiency.py NEW OLD [--kind simclr_h]``: for each metric (``probe``, ``knn``) and
label count, the per-seed means over the label draws of ``NEW`` minus those of ``OLD``, as
``records.paired_difference`` states them. Both records must share the training seeds and the label draws
(``label_seed``, ``draws``, ``per_class``): then seed s of one and seed s of the other start from the same weights
and are scored on the same labelled digits, and only what differs between the two configs (printed first) is
compared. Used for the switches of the ``cpu`` preset: batch 128 against the batch-256 record
(``git show 8347763:benchmarks/label-efficiency-cpu-2core.json > old.json``), then temperature 1.0 against the 0.7
record (``git show 3bcb9a8:...``).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parents[1])]

from clhelpers.records import PairedDifference, load_record, paired_difference, seed_means  # noqa: E402

DESIGN = ("seeds", "label_seed", "draws", "per_class", "train_images", "test_images")


def compare(new: dict, old: dict, kind: str = "simclr_h") -> dict[tuple[str, str], PairedDifference]:
    """``{(metric, per_class): new - old}`` paired by training seed; a ``ValueError`` saying what differs when the two
    records do not share the design (seeds, label draws, split sizes) or do not both hold ``kind``."""
    differs = [key for key in DESIGN if new.get(key) != old.get(key)]
    if differs:
        raise ValueError(f"the records differ in {differs}: a paired comparison needs the same seeds, label "
                         "draws and split; record the new arm with the old record's --seeds, --draws and --label-seed")
    if kind not in new.get("summary", {}) or kind not in old.get("summary", {}):
        raise ValueError(f"kind {kind!r} is not in both records; use one of {sorted(set(new['summary']) & set(old['summary']))}")
    out = {}
    for metric, by_count in new["summary"][kind].items():
        for pc in by_count:
            a, b = seed_means(new, kind, metric, pc), seed_means(old, kind, metric, pc)
            seeds = sorted(set(a) & set(b) - {None})
            out[metric, pc] = paired_difference([a[s] for s in seeds], [b[s] for s in seeds])
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("new", help="the record of the new config (e.g. benchmarks/label-efficiency-cpu-2core.json)")
    parser.add_argument("old", help="the record it is compared with, made with the same seeds and label draws")
    parser.add_argument("--kind", default="simclr_h", help="the representation to compare (default simclr_h)")
    args = parser.parse_args(argv)
    new, old = load_record(args.new), load_record(args.old)
    changed = {k: (old["config"].get(k), v) for k, v in new["config"].items() if old["config"].get(k) != v}
    print("config, old -> new:", ", ".join(f"{k} {a} -> {b}" for k, (a, b) in changed.items()) or "identical")
    try:
        verdicts = compare(new, old, args.kind)
    except ValueError as err:
        parser.error(str(err))
    for (metric, pc), d in verdicts.items():
        print(f"{args.kind} {metric:5s} {pc:>3s}/class  {d.verdict('new', 'old')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
