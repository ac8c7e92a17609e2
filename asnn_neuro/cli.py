"""The ``asnn`` command line: a thin layer over the pipeline stages.

Exit status: 0 done; 2 bad input or usage (one line on stderr, no traceback unless
--debug); 1 internal failure; 130 interrupted.
"""

from __future__ import annotations

import argparse
import json
import sys
import traceback
from pathlib import Path

from asnn_neuro.errors import InputError
from asnn_neuro.util.atomic import WRITE_ERRORS
from asnn_neuro.util.h5budget import limited
from asnn_neuro.util.lifetime import sigterm_as_interrupt
from asnn_neuro.util.outputs import check_writable, forcing, refuse_float_only

EPILOG = "Exit status: 0 done, 2 bad input or usage, 1 internal failure, 130 interrupted."


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # usage errors: one line, exit 2
        raise InputError(f"{self.prog}: {message}")


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--debug", action="store_true", help="show tracebacks")
    p.add_argument("--workdir", default="netx_exports", help="where trained models live (default: netx_exports)")
    p.add_argument("--simdir", default="sims", help="where runs are written (default: sims)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.add_argument("--max-weights", type=_positive, default=None, metavar="N",
                   help="size budget for HDF5 files read: values per file (default 100000000, or "
                        "$ASNN_MAX_WEIGHTS)")
    p.add_argument("--force", action="store_true",
                   help="replace an output folder that another command made (replaced whole, atomically)")


def _integer(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got '{text}'") from None


def _positive(text: str) -> int:
    """An integer >= 1 (time steps, epochs, samples, ...)."""
    value = _integer(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {value}")
    return value


def _shape(text: str) -> tuple[int, ...]:
    """A shape 'C,H,W' or 'N' (1 to 3 integers >= 1)."""
    parts = [t for t in text.replace("x", ",").split(",") if t.strip()]
    if not 1 <= len(parts) <= 3:
        raise argparse.ArgumentTypeError(f"expected 1 to 3 comma-separated sizes, got '{text}'")
    return tuple(_positive(t.strip()) for t in parts)


def _count(text: str) -> int:
    """An integer >= 0 (seeds, optional sample counts where 0 means none)."""
    value = _integer(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {value}")
    return value


def _add_train(sub) -> None:
    from asnn_neuro import encoding as enc  # names and help only: no torch before a stage runs
    from asnn_neuro.data import describe_datasets
    from asnn_neuro.models import MODELS, NEURONS

    p = sub.add_parser("train", help="train a model with SLAYER blocks", epilog=EPILOG,
                       description="Train a spiking model. Writes netx_exports/NAME/checkpoint.pt and train.json.\n\n"
                       "datasets:\n" + describe_datasets() + "\n\nencodings:\n" + enc.describe_schemes(),
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dataset", default="mnist5k")
    p.add_argument("--model", default="lenet", help=f"one of {', '.join(MODELS)}")
    p.add_argument("--encoding", default="hybrid", help=f"one of {', '.join(enc.SCHEMES)}")
    p.add_argument("--neuron", default="asnn", help=f"one of {', '.join(NEURONS)}")
    p.add_argument("--timesteps", type=_positive, default=4)
    p.add_argument("--epochs", type=_positive, default=15)
    p.add_argument("--seed", type=_count, default=0)
    p.add_argument("--name", default=None, help="model name (default: MODEL-ENCODING-NEURON-tT)")
    p.add_argument("--batch-size", type=_positive, default=64)
    p.add_argument("--lr", type=float, default=5e-3)
    p.add_argument("--weight-decay", type=float, default=0.0)
    p.add_argument("--no-augment", action="store_true", help="no random translations")
    p.add_argument("--mixup", type=float, default=0.0,
                   help="mixup alpha (0 = off; 1 = lambda ~ U(0, 1), the reference's); mixes raw images, then encodes")
    p.add_argument("--device", default="auto", help="auto, cpu or cuda[:N] (under torchrun: each rank its GPU)")
    p.add_argument("--amp", action="store_true", help="bfloat16 mixed precision on CUDA")
    p.add_argument("--resume", action="store_true", help="continue from the last checkpoint")
    p.add_argument("--model-option", action="append", default=[], metavar="KEY=VALUE",
                   help="model-specific option, e.g. widths=16,32,64 (repeatable)")
    p.add_argument("--bn-stats", default="pooled", choices=("pooled", "per-step"),
                   help="batch-norm statistics in training: pooled over time, or per step (the paper's "
                        "reference); evaluation and deployment use one set of running statistics either way")
    p.add_argument("--reset-grad", action="store_true",
                   help="let the gradient flow through the soft reset (asnn, lif; the paper's reference)")
    p.add_argument("--no-readout-scale", action="store_true",
                   help="asnn without the per-step readout scale (the reference's ASNN-off ablation)")
    p.add_argument("--fixed-leak", action="store_true",
                   help="lif with leak 0.7 and gain 1 frozen in every layer (the classical LIF baseline)")
    p.add_argument("--eval-bn", default="running", choices=("running", "batch"),
                   help="test-time batch norm: running statistics (deployed), or each test batch's own "
                        "(the reference's way of scoring); deployment always folds the running statistics")
    p.add_argument("--augmentation", default="shift", choices=("shift", "reference"),
                   help="shift: translations by up to 2 pixels; reference: flip, rotation 0-25 degrees, "
                        "crop with padding 5 (the reference's recipe)")
    p.add_argument("--mixup-until", type=_count, default=0, metavar="EPOCH",
                   help="mixup only in epochs 1..EPOCH (0 = every epoch; the reference: 145 of 200)")
    p.add_argument("--train-subset", type=_count, default=0, metavar="N",
                   help="train on the first N training images (0 = all)")
    _common(p)


def _add_export(sub) -> None:
    p = sub.add_parser("export", help="fold BN, quantise and write NetX HDF5", epilog=EPILOG)
    p.add_argument("name")
    p.add_argument("--weight-bits", type=_positive, default=8, help="4..8 (default 8)")
    p.add_argument("--max-clip", type=float, default=1e-3, help="largest fraction of weights a layer may clip")
    p.add_argument("--no-eval", action="store_true", help="skip the accuracy check of the quantised network")
    p.add_argument("--format", default="netx", choices=("netx", "nir"),
                   help="netx (default) or nir: the exported CUBA network as netx_exports/NAME/network.nir")
    _common(p)


def _add_import(sub) -> None:
    p = sub.add_parser("import", help="a NIR graph (snnTorch, Sinabs, SpikingJelly, Norse, ...) -> float graph + "
                       "Loihi fixed-point NetX", epilog=EPILOG)
    p.add_argument("file", help="a .nir file")
    p.add_argument("--name", required=True, help="export name: writes netx_exports/NAME/")
    p.add_argument("--source", default="nir",
                   choices=("nir", "snntorch", "sinabs", "spikingjelly", "norse", "rockpool"),
                   help="whose simulation conventions (dt, reset, firing test) to follow (default: nir)")
    p.add_argument("--dt", type=float, default=None, help="seconds per step (default: the source's own)")
    p.add_argument("--timesteps", type=_positive, default=10,
                   help="default steps per sample of --dataset runs (default 10; an --input file brings its own)")
    p.add_argument("--fix-norse-tau", action="store_true",
                   help="the file's time constants are dt * tau (Norse 1.1.0's exporter): divide them by dt")
    p.add_argument("--weight-bits", type=_positive, default=8, help="4..8 (default 8)")
    p.add_argument("--max-clip", type=float, default=1e-3, help="largest fraction of weights a layer may clip")
    _common(p)


def _add_quantize(sub) -> None:
    p = sub.add_parser("quantize", help="fixed-point pass and its accuracy report", epilog=EPILOG)
    p.add_argument("name")
    p.add_argument("--weight-bits", type=_positive, default=8)
    p.add_argument("--samples", type=_positive, default=None, help="test samples (default: all)")
    p.add_argument("--lava-samples", type=_count, default=300, help="samples also run on Lava (0 = none)")
    p.add_argument("--max-clip", type=float, default=1e-3, help="largest fraction of weights a layer may clip")
    p.add_argument("--qat", type=_count, default=0, metavar="EPOCHS",
                   help="quantisation-aware fine-tuning for EPOCHS epochs into NAME-qat, then report on it")
    _common(p)


def _add_simulate(sub) -> None:
    p = sub.add_parser("simulate", help="run samples on Lava, the integer executor, or Loihi", epilog=EPILOG)
    p.add_argument("net", help="export name or path to a NetX .net file")
    p.add_argument("--dataset", default="mnist5k")
    p.add_argument("--samples", type=_positive, default=100)
    p.add_argument("--backend", default="lava",
                   help="lava (Lava CPU simulator), executor (our integer executor, bit-exact with Lava) or "
                        "loihi; 'slayer' is a deprecated alias of executor")
    p.add_argument("--precision", default="fixed",
                   help="fixed or float (executor + float: the trained model, or an imported NIR graph's float graph)")
    p.add_argument("--name", default=None, help="run name (default: NET-BACKEND)")
    p.add_argument("--input", default=None, help=".npy input (network input shape in x,y,z order, time last)")
    p.add_argument("--encoding", default=None, help="encoding for a foreign network fed from --dataset")
    p.add_argument("--timesteps", type=_positive, default=None,
                   help="time steps per sample for a foreign network (default: the --input file's)")
    p.add_argument("--input-shape", type=_shape, default=None,
                   help="input shape C,H,W (or N) of a NetX file with no input layer whose first layer is a conv")
    _add_stream(p)
    p.add_argument("--pipeline-fill", action="store_const", const="fill", dest="stream",
                   help="the same as --stream fill (kept for older scripts)")
    _common(p)


STREAM_MODES = ("reset", "fill", "continuous")  # backends/stream.py's MODES (not imported: --help stays light)


def _add_stream(p) -> None:
    p.add_argument("--stream", choices=STREAM_MODES, default=None,
                   help="how samples follow each other (both backends): reset = every layer starts each sample at "
                        "rest when it reaches it; fill = each sample from a fresh start, layers run (with their "
                        "biases) before the input reaches them; continuous = one stream, no reset, as lava-dl's "
                        "loader runs a file. Default: continuous for NetX files not written by asnn-neuro, "
                        "else reset (docs/stream_modes.md)")


def _add_verify(sub) -> None:
    p = sub.add_parser("verify", help="integer executor vs Lava, spike by spike", epilog=EPILOG)
    p.add_argument("net")
    p.add_argument("--dataset", default="mnist5k")
    p.add_argument("--samples", type=_positive, default=100)
    p.add_argument("--name", default=None)
    p.add_argument("--input", default=None, help=".npy input instead of the data set (as for simulate)")
    p.add_argument("--encoding", default=None, help="input coding for a file that does not record one")
    p.add_argument("--timesteps", type=_positive, default=None, help="time steps for such a file")
    _add_stream(p)
    _common(p)


def _add_energy(sub) -> None:
    p = sub.add_parser("energy", help="spike-count energy estimate of a run", epilog=EPILOG)
    p.add_argument("run", help="run name in sims/ or a run folder")
    p.add_argument("--profile", action="append", default=[], help="extra device profile JSON (repeatable)")
    _common(p)


def _add_fit(sub) -> None:
    p = sub.add_parser("fit", help="cores and chips a network takes on Loihi (per-core limits)", epilog=EPILOG)
    p.add_argument("net", help="export name or path to a NetX .net file")
    p.add_argument("--chip", default="loihi2", help="loihi2 (default) or loihi1")
    p.add_argument("--tiling", default="compiler",
                   help="compiler (default: imitates the Loihi 2 compiler), fewest (lower bound) or pow2")
    _common(p)


def _add_report(sub) -> None:
    p = sub.add_parser("report", help="compare runs: accuracy, energy, spikes, latency", epilog=EPILOG)
    p.add_argument("runs", nargs="+")
    p.add_argument("--name", default="report")
    _common(p)


def _add_apps(sub) -> None:
    p = sub.add_parser("demo", help="the whole chain on the embedded data set", epilog=EPILOG)
    p.add_argument("--fast", action="store_true", help="fewer epochs and samples (a quick smoke run)")
    _common(p)

    p = sub.add_parser("compare", help="reproduce the paper's encoding x neuron x T comparison", epilog=EPILOG,
                       description="Train, export, run (executor, Lava) and tabulate every row of the paper's "
                       "comparison for several seeds. Resumable: rerunning the same command skips finished "
                       "runs and continues a half-trained one.")
    p.add_argument("--epochs", type=_positive, default=15)
    p.add_argument("--seeds", type=_positive, default=3, help="seeds 0..N-1 per row (default 3)")
    p.add_argument("--lava-samples", type=_count, default=100)
    p.add_argument("--dataset", default="mnist5k", help="e.g. mnist5k, or cifar10:DIR with --model resnet")
    p.add_argument("--model", default="lenet", help="lenet, resnet or spikformer")
    p.add_argument("--batch-size", type=_positive, default=64)
    p.add_argument("--mixup", type=float, default=0.0, help="mixup alpha for every run (0 = off)")
    p.add_argument("--train-subset", type=_count, default=0, metavar="N",
                   help="train every run on the first N training images (0 = all)")
    p.add_argument("--deploy-samples", type=_count, default=0, metavar="N",
                   help="fixed point: the executor on the first N held-out samples only (0 = all)")
    p.add_argument("--device", default="auto", help="auto, cpu or cuda[:N]")
    p.add_argument("--workers", type=_positive, default=None,
                   help="runs in parallel, each in its own process on its own cores (default: cores // 2)")
    p.add_argument("--out", default="docs/paper_comparison.md")
    p.add_argument("--only", action="append", default=[], metavar="ENC:NEURON:T[:VARIANT]",
                   help="run only these rows (repeatable), e.g. hybrid:asnn:4 or hybrid:asnn:4:reset-grad")
    _common(p)

    p = sub.add_parser("doctor", help="check the installation", epilog=EPILOG)
    _common(p)

    p = sub.add_parser("bench", help="throughput benchmarks (writes sims/bench/)", epilog=EPILOG)
    p.add_argument("--smoke", action="store_true", help="tiny sizes, just check it runs")
    p.add_argument("--vs", choices=["snntorch", "dense", "lava"], default=None,
                   help="instead: snntorch = training throughput of our LeNet vs the same LeNet in snnTorch, every "
                        "neuron kind and encoding class, T = 4 and 8; dense = the executor's synaptic work as a "
                        "fraction of torch's dense conv/matmul on the same shapes; lava = where the Lava backend's "
                        "time goes (messaging per process, conv models, run calls) (writes sims/bench/vs_*.*)")
    p.add_argument("--batch", type=int, default=None, help="with --vs: batch size (default 64)")
    p.add_argument("--encodings", default=None, metavar="ENC[,ENC...]",
                   help="with --vs: encodings to compare (default direct,rate,hybrid)")
    p.add_argument("--kinds", default=None, metavar="KIND[,KIND...]",
                   help="with --vs: neuron kinds to compare (default cuba,lif,asnn)")
    p.add_argument("--timesteps", default=None, metavar="T[,T...]", help="with --vs: time steps (default 4,8)")
    _common(p)


SUBPARSERS = (_add_train, _add_export, _add_import, _add_quantize, _add_simulate, _add_verify, _add_energy,
              _add_fit, _add_report,
              _add_apps)


def build_parser() -> argparse.ArgumentParser:
    root = _Parser(prog="asnn", description="asnn-neuro: train spiking nets with lava-dl SLAYER (ASNN neurons, "
                   "hybrid coding), export NetX HDF5, run on Lava/Loihi, estimate energy.", epilog=EPILOG,
                   formatter_class=argparse.RawDescriptionHelpFormatter)
    root.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = root.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for add in SUBPARSERS:
        add(sub)
    return root


def _run_dir(arg: str, simdir: str) -> Path:
    from asnn_neuro.runs import find_run

    return find_run(arg, simdir)


def _options(items: list[str]) -> dict:
    out = {}
    for item in items:
        if "=" not in item:
            raise InputError(f"--model-option '{item}': expected KEY=VALUE")
        key, value = item.split("=", 1)
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = [int(v) for v in value.split(",")] if "," in value else value
    return out


def cmd_train(a) -> int:
    from asnn_neuro.training import train
    from asnn_neuro.training.config import TrainConfig

    name = a.name or f"{a.model}-{a.encoding}-{a.neuron}-t{a.timesteps}"
    cfg = TrainConfig(dataset=a.dataset, model=a.model, encoding=a.encoding, neuron=a.neuron,
                      timesteps=a.timesteps, epochs=a.epochs, seed=a.seed, name=name, batch_size=a.batch_size,
                      lr=a.lr, weight_decay=a.weight_decay, augment=not a.no_augment, mixup=a.mixup,
                      device=a.device, amp=a.amp, workdir=a.workdir, options=_options(a.model_option),
                      bn_stats=a.bn_stats, reset_grad=a.reset_grad, readout_scale=not a.no_readout_scale,
                      fixed_leak=a.fixed_leak, eval_bn=a.eval_bn, augmentation=a.augmentation,
                      mixup_until=a.mixup_until, train_subset=a.train_subset)
    r = train(cfg, resume=a.resume, show_progress=not a.quiet)
    print(f"trained {name}: test accuracy {100 * r['test_accuracy']:.2f}% on {r['test_samples']} held-out "
          f"samples ({r['samples_per_s']:.0f} samples/s) -> {cfg.out_dir}/")
    return 0


def cmd_export(a) -> int:
    from asnn_neuro.deploy.export import export
    from asnn_neuro.evaluate.quantization import export_and_report

    refuse_float_only(a.workdir, a.name)
    check_writable(Path(a.workdir) / a.name)
    if a.format == "nir":
        from asnn_neuro.deploy.nir.write import export_nir

        print(f"exported {a.name} as NIR -> {export_nir(a.name, workdir=a.workdir)}")
        return 0

    if a.no_eval:
        info = export(a.name, workdir=a.workdir, weight_bits=a.weight_bits, max_clip=a.max_clip)
    else:
        info = export_and_report(a.name, workdir=a.workdir, weight_bits=a.weight_bits, max_clip=a.max_clip,
                                 progress=not a.quiet)
    print(f"exported {a.name}: {len(info['layers'])} layers, {info['neurons']} neurons, "
          f"latency {info['latency_steps']} steps -> {Path(a.workdir) / a.name / 'network.net'}")
    if "accuracy" in info:
        acc = info["accuracy"]
        print(f"  accuracy on {acc['samples']} test samples: float {100 * acc['float_accuracy']:.2f}%, "
              f"fixed point {100 * acc['quantized_accuracy']:.2f}%")
    return 0


def cmd_import(a) -> int:
    from asnn_neuro.api import import_nir

    info = import_nir(a.file, a.name, source=a.source, dt=a.dt, timesteps=a.timesteps, weight_bits=a.weight_bits,
                      max_clip=a.max_clip, workdir=a.workdir, fix_norse_tau=a.fix_norse_tau).info
    d = Path(a.workdir) / a.name
    for line in info["warnings"]:
        print(f"asnn: warning: {line}", file=sys.stderr)
    print(f"imported {a.file} as {a.name} ({info['source']} conventions, dt {info['dt']:g} s, "
          f"default T = {a.timesteps}): "
          f"{len(info['layers'])} layers, {len(info['approximations'])} approximations -> {d / 'import.json'}")
    if info["chip_refused"]:
        print(f"  chip path refused: {info['chip_refused']}; float graph only -> {d / 'float.npz'}")
    else:
        print(f"  -> {d / 'network.net'}, {d / 'float.npz'}")
    return 0


def cmd_quantize(a) -> int:
    from asnn_neuro.deploy.quantize import check_bits
    from asnn_neuro.evaluate.quantization import check_sample_counts, quantization_report

    refuse_float_only(a.workdir, a.name)
    check_bits(a.weight_bits)
    check_sample_counts(a.samples, a.lava_samples)
    if a.qat:
        from asnn_neuro.deploy.qat import qat_finetune

        a.name = qat_finetune(a.name, a.qat, workdir=a.workdir, weight_bits=a.weight_bits, max_clip=a.max_clip,
                              progress=not a.quiet)
        print(f"quantisation-aware fine-tuning -> {a.name}")
    r = quantization_report(a.name, workdir=a.workdir, samples=a.samples, lava_samples=a.lava_samples,
                            weight_bits=a.weight_bits, max_clip=a.max_clip, progress=not a.quiet)
    print(f"quantization of {a.name} ({r['weight_bits']}-bit weights), {r['samples']} samples:")
    print(f"  float SLAYER      {100 * r['float_accuracy']:.2f}%")
    print(f"  fixed (executor)  {100 * r['quantized_accuracy']:.2f}%  (agreement "
          f"{100 * r['quantized_agreement']:.2f}%)")
    if r["lava_samples"]:
        print(f"  Lava fixed point  {100 * r['lava_accuracy']:.2f}% on {r['lava_samples']} samples "
              f"(float {100 * r['float_accuracy_on_lava_samples']:.2f}% on those)")
    for layer in r["layers"]:
        print(f"  {layer['name']:18s} exp {layer['weight_exponent']:4d}  bits {layer['weight_bits']}  "
              f"clipped {100 * layer['clipped_fraction']:.3f}%  range used {100 * layer['range_used']:.0f}%")
    print(f"-> {Path(a.workdir) / a.name / 'quantization.json'}")
    return 0


def cmd_simulate(a) -> int:
    from asnn_neuro.evaluate.simulate import DEPRECATED_BACKENDS, run_simulation

    if a.backend in DEPRECATED_BACKENDS:
        print(f"asnn: note: --backend {a.backend} is deprecated; it runs the integer executor "
              f"(--backend {DEPRECATED_BACKENDS[a.backend]})", file=sys.stderr)
    r = run_simulation(a.net, dataset=a.dataset, samples=a.samples, backend=a.backend, precision=a.precision,
                       name=a.name, input_file=a.input, encoding=a.encoding, timesteps=a.timesteps,
                       workdir=a.workdir, simdir=a.simdir, progress=not a.quiet, input_shape=a.input_shape,
                       stream=a.stream)
    line = f"simulated {r.samples} samples on {r.backend} ({r.precision}, {r.stream or 'reset'} stream)"
    if r.accuracy is not None:
        line += f": accuracy {100 * r.accuracy:.2f}%"
    if r.agreement is not None:
        line += f", SLAYER {100 * r.reference_accuracy:.2f}%, agreement {100 * r.agreement:.2f}%"
    print(line)
    if r.steps_per_s:
        print(f"  {r.steps_per_s:.1f} steps/s, {r.samples_per_s:.2f} samples/s, compile {r.compile_s:.2f} s")
    print(f"-> {r.run_dir}/summary.json")
    return 0


def cmd_verify(a) -> int:
    from asnn_neuro.evaluate.verify import format_verify, verify

    r = verify(a.net, dataset=a.dataset, samples=a.samples, name=a.name, workdir=a.workdir, simdir=a.simdir,
               progress=not a.quiet, input_file=a.input, encoding=a.encoding, timesteps=a.timesteps,
               stream=a.stream)
    print(format_verify(r))
    print(f"-> {r['run_dir']}/verify.json")
    return 0


def cmd_energy(a) -> int:
    from asnn_neuro.api import energy

    d = _run_dir(a.run, a.simdir)
    check_writable(d)
    result = energy(d, a.profile).data
    for dev, info in result["devices"].items():
        print(f"  {dev:12s} {info['joules_per_inference'] * 1e6:10.3f} uJ/inference")
    ann = result["ann_baseline"]
    if ann.get("joules_per_inference") is None:  # the run's network file could not be read
        print(f"  ANN baseline  not computed ({ann.get('note', 'no network')})")
    else:
        print(f"  ANN baseline {ann['joules_per_inference'] * 1e6:10.3f} uJ/inference "
              f"({ann['macs_per_inference']:.3g} MACs)")
    rng, fit = result.get("loihi_range"), result.get("fit")
    if rng:
        print(f"  Loihi range  {rng['min'] * 1e6:.3f} - {rng['max'] * 1e6:.3f} uJ/inference over "
              f"{len(rng['models'])} cost models" + (f"; fit: {fit['cores']} cores on {fit['chip']}" if fit else ""))
    t = result.get("loihi_time")
    if t:
        print(f"  Loihi 2 time {t['step_seconds'][0] * 1e6:.3g} - {t['step_seconds'][1] * 1e6:.3g} us/step, "
              f"{t['inferences_per_second'][0]:.4g} - {t['inferences_per_second'][1]:.4g} inferences/s")
    print(f"-> {d}/energy.json, {d}/energy.md")
    return 0


def cmd_fit(a) -> int:
    from asnn_neuro.fit.run import run_fit

    refuse_float_only(a.workdir, a.net)
    r, out = run_fit(a.net, chip=a.chip, tiling=a.tiling, workdir=a.workdir, simdir=a.simdir)
    print(f"{r['net']} on {r['chip']} ({r['tiling']}): {r['cores']} cores, {r['chips']} chip(s)"
          + ("" if r["fits"] else "; does NOT fit"))
    for lay in r["layers"]:
        print(f"  {lay['name']:16s} {lay['cores']:5d} cores  binding {lay['split_by'] or '-'}")
    if r.get("timing"):
        from asnn_neuro.fit.markdown import timing_lines

        for line in timing_lines(r):
            print("  " + line)
    for note in r["notes"]:
        print(f"  note: {note}")
    print(f"-> {out}/fit.json, {out}/fit.md")
    return 0


def cmd_report(a) -> int:
    from asnn_neuro.api import report
    from asnn_neuro.util.names import check_name

    check_name(a.name)
    dirs = [_run_dir(r, a.simdir) for r in a.runs]
    out = Path(a.simdir) / a.name
    report(dirs, a.name, a.simdir)
    print(f"report on {len(dirs)} runs -> {out}/report.md, report.json, *.png")
    return 0


def cmd_demo(a) -> int:
    from asnn_neuro.apps.demo import run_demo

    run_demo(fast=a.fast, workdir=a.workdir, simdir=a.simdir, progress=not a.quiet)
    return 0


def cmd_compare(a) -> int:
    from asnn_neuro.apps.compare import Settings, default_workers, run_comparison
    from asnn_neuro.apps.compare_grid import grid_for, parse_row

    rows = [parse_row(item) for item in a.only] if a.only else grid_for(a.dataset)
    s = Settings(epochs=a.epochs, seeds=a.seeds, lava_samples=a.lava_samples, dataset=a.dataset, model=a.model,
                 batch_size=a.batch_size, mixup=a.mixup, train_subset=a.train_subset,
                 deploy_samples=a.deploy_samples, device=a.device,
                 workers=a.workers or default_workers(),
                 workdir=a.workdir, simdir=a.simdir, out=a.out, progress=not a.quiet, rows=rows)
    done = run_comparison(s)
    print(f"comparison: {len(done)} runs this time -> {a.out}")
    return 0


def cmd_doctor(a) -> int:
    from asnn_neuro.apps.doctor import run_doctor

    return run_doctor()


def cmd_bench(a) -> int:
    from asnn_neuro.bench import run_bench, run_vs

    if a.vs:
        run_vs(a.vs, smoke=a.smoke, simdir=a.simdir, batch=a.batch, encodings=a.encodings, kinds=a.kinds,
               timesteps=a.timesteps)
    else:
        run_bench(smoke=a.smoke, simdir=a.simdir)
    return 0


COMMANDS = {"train": cmd_train, "export": cmd_export, "import": cmd_import, "quantize": cmd_quantize,
            "simulate": cmd_simulate, "verify": cmd_verify, "energy": cmd_energy, "fit": cmd_fit,
            "report": cmd_report, "demo": cmd_demo,
            "doctor": cmd_doctor, "bench": cmd_bench, "compare": cmd_compare}


# the commands that run lava-dl SLAYER models (training, the float reference): they run them
# on the fast CPU path of lava-dl's CUBA dynamics; the others never load torch's models
SLAYER_COMMANDS = frozenset({"train", "export", "quantize", "simulate", "verify", "demo", "compare", "bench"})


def _one_line(exc: BaseException) -> str:
    """The message on one line, whatever a file's names or an exception's text hold."""
    return " ".join(str(exc).split())


def main(argv: list[str] | None = None) -> int:
    with sigterm_as_interrupt():  # SIGTERM (timeout, kill, systemd) exits 130 like Ctrl-C
        return _main(argv)


def _main(argv: list[str] | None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    debug = "--debug" in argv
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        if not args.command:
            parser.print_help()
            raise InputError(f"no command given; choose one of: {', '.join(COMMANDS)}")
        for option in ("workdir", "simdir"):
            folder = getattr(args, option, None)
            if folder is not None and Path(folder).exists() and not Path(folder).is_dir():
                raise InputError(f"--{option} {folder}: exists and is not a directory")
        with forcing(getattr(args, "force", False)), limited(getattr(args, "max_weights", None)):
            if args.command not in SLAYER_COMMANDS:
                return COMMANDS[args.command](args)
            from asnn_neuro.neurons.cuba_cpu import fast_cuba

            with fast_cuba():
                return COMMANDS[args.command](args)
    except InputError as exc:
        if debug:
            traceback.print_exc()
        print(f"asnn: error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("asnn: interrupted", file=sys.stderr)
        return 130
    except SystemExit as exc:  # --help
        return int(exc.code or 0)
    except OSError as exc:
        if exc.errno not in WRITE_ERRORS:
            return _internal(exc, debug)
        if debug:
            traceback.print_exc()
        print(f"asnn: error: {exc.filename or 'a file'}: {WRITE_ERRORS[exc.errno]}", file=sys.stderr)
        return 2
    except Exception as exc:  # noqa: BLE001
        return _internal(exc, debug)


def _internal(exc: BaseException, debug: bool) -> int:
    if debug:
        traceback.print_exc()
    print(f"asnn: internal error: {type(exc).__name__}: {_one_line(exc)} (rerun with --debug for the "
          "traceback)", file=sys.stderr)
    return 1


if __name__ == "__main__":
    raise SystemExit(main())
