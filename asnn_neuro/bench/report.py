"""bench.json -> bench.md: the tables of one benchmark run."""

from __future__ import annotations


def _f(value, digits: int = 1) -> str:
    if value is None:
        return "-"
    try:
        return f"{float(value):.{digits}f}"
    except (TypeError, ValueError):
        return str(value)


def _load(values) -> str:
    return " / ".join(_f(v, 2) for v in values) if values else "-"


def _verdict(flag) -> str:
    return "not evaluated (smoke)" if flag is None else ("PASS" if flag else "FAIL")


def _ops(rows: list[dict], limit: int = 8) -> str:
    return ", ".join(f"{r['op'].replace('aten::', '')} {100 * r['share']:.0f}%" for r in rows[:limit])


def _machine(m: dict, result: dict) -> list[str]:
    return [
        f"- mode: {'smoke (tiny sizes, numbers meaningless)' if result['smoke'] else 'full'}; "
        f"total {result['total_s']:.0f} s",
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
        f"ours, ...) of {tr['steps_per_repeat']} steps each; median and min-max of samples/s. "
        f"Memory: peak RSS growth over one step ({tr['memory_method']}) and the bytes autograd saves for "
        "backward (parameters excluded).",
        "",
        "| T | implementation | samples/s (median) | min - max | peak RSS growth MiB | saved for backward MiB "
        "| forward / backward / Adam |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in tr["per_T"]:
        for k, name in (("ours", "ours (SLAYER blocks, fused kernel)"), ("plain", "plain per-step loop")):
            r = row[k]
            s = r["samples_per_s"]
            split = r["time_split"]
            lines.append(f"| {row['timesteps']} | {name} | {_f(s['median'])} | {_f(s['min'])} - {_f(s['max'])} "
                         f"| {_f(r['peak_rss_growth_mib'], 0)} | {_f(r['saved_for_backward_mib'], 0)} "
                         f"| {100 * split['forward']:.0f}% / {100 * split['backward']:.0f}% / "
                         f"{100 * split['optimizer']:.0f}% |")
    ratios = ", ".join(f"T={t}: {r:.2f}" for t, r in targets["training_ratio"].items())
    lines += ["", f"Ratio ours / plain (median samples/s): {ratios}; target >= {targets['training_ratio_target']}: "
              f"{_verdict(targets['training_pass'])}."]
    return lines


def _evaluation(ev: dict, targets: dict) -> list[str]:
    lines = [
        f"## 2. Evaluation at chip precision ({ev['dataset']} 28x28, {ev['model']} {ev['encoding']}/"
        f"{ev['neuron']}, T={ev['timesteps']}, {ev['weight_bits']}-bit weights)",
        "",
        "Lava CPU simulator (`run_lava`, fixed point) vs the bit-exact executor (`FixedExecutor`) on the "
        "same integer frames. Lava run time excludes compile; steps = samples x T + pipeline latency.",
        "",
        "| size | samples | Lava compile s | Lava run s | Lava samples/s | ms/step | executor s | "
        "executor samples/s | same predictions & counts |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for size in ev["sizes"]:
        for r in size["lava"]:
            same = "yes" if r["predictions_agree"] and r["counts_agree"] else "NO"
            lines.append(f"| {size['size']} | {r['samples']} | {_f(r['compile_s'], 2)} | {_f(r['run_s'], 2)} | "
                         f"{_f(r['lava_samples_per_s'], 2)} | {_f(r['ms_per_step'], 1)} | {_f(r['executor_s'], 3)} | "
                         f"{_f(r['executor_samples_per_s'], 0)} | {same} |")
    lines += ["", "| size | widths, hidden | neurons | synapses | Lava s/sample (fit) | Lava fixed s (fit) |",
              "|---|---|---|---|---|---|"]
    for size in ev["sizes"]:
        fit = size.get("lava_fit", {})
        lines.append(f"| {size['size']} | {size['widths']}, {size['hidden']} | {size['neurons']} | "
                     f"{size['synapses']} | {_f(fit.get('seconds_per_sample'), 3)} | "
                     f"{_f(fit.get('fixed_seconds'), 2)} |")
    lines += ["", "Executor on the first N mnist5k test samples (one batch):", "",
              "| size | N | FixedExecutor s | samples/s | accuracy (briefly trained) | spikes/sample | load (1 min) |",
              "|---|---|---|---|---|---|---|"]
    for size in ev["sizes"]:
        e = size["executor"]
        lines.append(f"| {size['size']} | {e['samples']} | {_f(e['seconds'], 2)} | {_f(e['samples_per_s'], 0)} | "
                     f"{100 * e['accuracy']:.1f}% | "
                     f"{_f(e['spikes_per_sample'], 0)} | {_f(e['load'][0], 2)} |")
    lines += ["", f"Target: {targets['executor_samples']} samples through FixedExecutor ({targets['executor_size']} "
              f"size) < {targets['executor_target_s']:.0f} s: {_f(targets['executor_s'], 2)} s, "
              f"{_verdict(targets['executor_pass'])} (load at that time: see the table above)."]
    return lines


def _encoding(en: dict) -> list[str]:
    lines = [
        f"## 3. Encoding throughput ({en['images']} images {'x'.join(map(str, en['shape']))}, T={en['timesteps']}, "
        f"{en['dtype']}, median of {en['repeats']})",
        "",
        f"temporal-eq calibration fit on the same images: {_f(en['temporal_eq_fit_s'], 3)} s.",
        "",
        "| scheme | images/s (median) | min - max |",
        "|---|---|---|",
    ]
    for r in en["schemes"]:
        s = r["images_per_s"]
        lines.append(f"| {r['scheme']} | {_f(s['median'], 0)} | {_f(s['min'], 0)} - {_f(s['max'], 0)} |")
    return lines


def _where(result: dict) -> list[str]:
    lines = ["## Where the time goes (torch.profiler, self CPU time)", ""]
    any_rows = False
    for row in result["training"]["per_T"]:
        for k in ("ours", "plain"):
            if "top_ops" in row[k]:
                any_rows = True
                lines.append(f"- training T={row['timesteps']} {k}: {_ops(row[k]['top_ops'])}")
                nodes = ", ".join(f"{n['node']} {100 * n['share']:.0f}%" for n in row[k].get("backward_nodes", []))
                lines.append(f"  - backward by autograd node (incl. children): {nodes}")
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
