"""bench.json -> bench.md: the tables of one benchmark run."""

from __future__ import annotations


def _f(value, digits: int = 1) -> str:
    if value is None:
        return "-"
    try:
        return f"{float(value):.{digits}f}"
    except (TypeError, ValueError):
        return str(value)


def _row(*cells) -> str:
    return "| " + " | ".join(str(c) for c in cells) + " |"


def _header(*names) -> list[str]:
    return [_row(*names), _row(*["---"] * len(names))]


def _load(values) -> str:
    return " / ".join(_f(v, 2) for v in values) if values else "-"


def _verdict(flag) -> str:
    return "not evaluated (smoke)" if flag is None else ("PASS" if flag else "FAIL")


def _ops(rows: list[dict], limit: int = 8) -> str:
    return ", ".join(f"{r['op'].replace('aten::', '')} {100 * r['share']:.0f}%" for r in rows[:limit])


def _machine(m: dict, result: dict) -> list[str]:
    mode = "smoke (tiny sizes, numbers meaningless)" if result["smoke"] else "full"
    return [
        f"- mode: {mode}; total {result['total_s']:.0f} s",
        f"- CPU: {m['cpu_model']}, {m['logical_cores']} logical cores, {m['memory_gib']} GiB; "
        f"torch {m['torch']} ({m['torch_threads']} threads), lava-nc {m['lava_nc']}, lava-dl {m['lava_dl']}, "
        f"numpy {m['numpy']}, Python {m['python']}",
        f"- date: {m['date']}; load average (1/5/15 min) at start {_load(m['load_at_start'])}, "
        f"at end {_load(m.get('load_at_end'))}",
    ]


def _training(tr: dict, targets: dict) -> list[str]:
    lines = [
        f"## 1. Training throughput (LeNet 32x32x3, hybrid coding, ASNN, batch {tr['batch']}, "
        f"{tr['optimizer']})",
        "",
        f"{tr['warmup_steps']} warm-up steps not counted; {tr['repeats']} interleaved repeats (ours, plain, "
        f"ours, ...) of {tr['steps_per_repeat']} steps each; median and min-max of samples/s; samples per "
        "CPU-second = samples / process CPU time of all threads. Memory: peak RSS growth over one step "
        f"({tr['memory_method']}) and the bytes autograd saves for backward (parameters excluded).",
        "",
        *_header("T", "implementation", "samples/s (median)", "min - max", "samples per CPU-s",
                 "peak RSS growth MiB", "saved for backward MiB", "forward / backward / Adam"),
    ]
    names = (("ours", "ours (SLAYER blocks, fused kernel)"), ("plain", "plain per-step loop"))
    for row in tr["per_T"]:
        for k, name in names:
            r = row[k]
            s, sp = r["samples_per_s"], r["time_split"]
            split = f"{100 * sp['forward']:.0f}% / {100 * sp['backward']:.0f}% / {100 * sp['optimizer']:.0f}%"
            lines.append(_row(row["timesteps"], name, _f(s["median"]), f"{_f(s['min'])} - {_f(s['max'])}",
                              _f(r["samples_per_cpu_s"]["median"]), _f(r["peak_rss_growth_mib"], 0),
                              _f(r["saved_for_backward_mib"], 0), split))
    ratios = ", ".join(f"T={t}: {r:.2f}" for t, r in targets["training_ratio"].items())
    cpu = ", ".join(f"T={row['timesteps']}: {row['ratio_cpu_time']:.2f}" for row in tr["per_T"])
    loads = ", ".join(f"T={row['timesteps']}: {row['load'][0]:.1f}" for row in tr["per_T"])
    lines += ["", f"Ratio ours / plain (median samples/s): {ratios}; target >= "
              f"{targets['training_ratio_target']}: {_verdict(targets['training_pass'])}. "
              f"Per CPU-second: {cpu}. Load (1 min) after each T: {loads}."]
    return lines


def _evaluation(ev: dict, targets: dict) -> list[str]:
    lines = [
        f"## 2. Evaluation at chip precision ({ev['dataset']} 28x28, {ev['model']} {ev['encoding']}/"
        f"{ev['neuron']}, T={ev['timesteps']}, {ev['weight_bits']}-bit weights)",
        "",
        "Lava CPU simulator (`run_lava`, fixed point) vs the bit-exact executor (`FixedExecutor`) on the "
        "same integer frames. Lava run time excludes compile; steps = samples x T + pipeline latency.",
        "",
        *_header("size", "samples", "Lava compile s", "Lava run s", "Lava samples/s", "ms/step",
                 "executor s (best)", "executor samples/s", "same predictions & counts"),
    ]
    for size in ev["sizes"]:
        for r in size["lava"]:
            same = "yes" if r["predictions_agree"] and r["counts_agree"] else "NO"
            lines.append(_row(size["size"], r["samples"], _f(r["compile_s"], 2), _f(r["run_s"], 2),
                              _f(r["lava_samples_per_s"], 2), _f(r["ms_per_step"], 1), _f(r["executor_s"], 3),
                              _f(r["executor_samples_per_s"], 0), same))
    lines += ["", *_header("size", "widths, hidden", "neurons", "synapses", "Lava s/sample (fit)",
                           "Lava fixed s (fit)")]
    for size in ev["sizes"]:
        fit = size.get("lava_fit", {})
        lines.append(_row(size["size"], f"{size['widths']}, {size['hidden']}", size["neurons"],
                          size["synapses"], _f(fit.get("seconds_per_sample"), 3),
                          _f(fit.get("fixed_seconds"), 2)))
    lines += ["", "Executor on the first N mnist5k test samples (default batches; best of the runs listed "
              "in bench.json, torch threads as above, then with 1 thread):", "",
              *_header("size", "N", "FixedExecutor s", "samples/s", "same, 1 torch thread s",
                       "accuracy (briefly trained)", "spikes/sample", "load (1 min)")]
    for size in ev["sizes"]:
        e = size["executor"]
        lines.append(_row(size["size"], e["samples"], _f(e["seconds"], 2), _f(e["samples_per_s"], 0),
                          _f(e.get("seconds_1_thread"), 2), f"{100 * e['accuracy']:.1f}%",
                          _f(e["spikes_per_sample"], 0), _f(e["load"][0], 2)))
    lines += ["", f"Target: {targets['executor_samples']} samples through FixedExecutor "
              f"({targets['executor_size']} size) < {targets['executor_target_s']:.0f} s: "
              f"{_f(targets['executor_s'], 2)} s, {_verdict(targets['executor_pass'])}."]
    return lines


def _encoding(en: dict) -> list[str]:
    shape = "x".join(map(str, en["shape"]))
    lines = [
        f"## 3. Encoding throughput ({en['images']} images {shape}, T={en['timesteps']}, "
        f"{en['dtype']}, median of {en['repeats']})",
        "",
        f"temporal-eq calibration fit on the same images: {_f(en['temporal_eq_fit_s'], 3)} s.",
        "",
        *_header("scheme", "images/s (median)", "min - max"),
    ]
    for r in en["schemes"]:
        s = r["images_per_s"]
        lines.append(_row(r["scheme"], _f(s["median"], 0), f"{_f(s['min'], 0)} - {_f(s['max'], 0)}"))
    return lines


def _where(result: dict) -> list[str]:
    lines = ["## Where the time goes (torch.profiler, self CPU time)", ""]
    any_rows = False
    for row in result["training"]["per_T"]:
        for k in ("ours", "plain"):
            if "top_ops" not in row[k]:
                continue
            any_rows = True
            nodes = ", ".join(f"{n['node']} {100 * n['share']:.0f}%"
                              for n in row[k].get("backward_nodes", []))
            lines.append(f"- training T={row['timesteps']} {k}: {_ops(row[k]['top_ops'])}")
            lines.append(f"  - backward by autograd node (children included): {nodes}")
    for size in result["evaluation"]["sizes"]:
        if "executor_profile" in size:
            any_rows = True
            p = size["executor_profile"]
            lines.append(f"- FixedExecutor [{size['size']}], {p['samples']} samples: {_ops(p['top_ops'])}")
    if not any_rows:
        lines.append("(not profiled in smoke mode)")
    return lines


def to_markdown(result: dict) -> str:
    """The whole run as Markdown: machine facts, the three tables, targets and profiles."""
    lines = ["# asnn-neuro benchmark", ""]
    lines += _machine(result["machine"], result) + [""]
    lines += _training(result["training"], result["targets"]) + [""]
    lines += _evaluation(result["evaluation"], result["targets"]) + [""]
    lines += _encoding(result["encoding"]) + [""]
    lines += _where(result)
    return "\n".join(lines) + "\n"
