#!/usr/bin/env bash
# Create .venv/ and install everything asnn-neuro needs, from nothing. Idempotent.
# Python 3.11: lava-nc/lava-dl are installed with --no-deps (they declare <3.11) and a small
# compatibility fix is applied (see asnn_neuro/compat/lava_compat.py). Python 3.10: plain install.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}

# Fashion-MNIST (--dataset fashion-mnist) is Debian's dataset-fashion-mnist package (MIT licence, the
# four IDX files under /usr/share/datasets/fashion-mnist). Best effort, only when missing and apt-get
# can run as root: setup never fails on it, and the tests that need it skip with how to get it.
if [ ! -d /usr/share/datasets/fashion-mnist ] && command -v apt-get >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then apt_cmd=""; elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    apt_cmd="sudo -n"; else apt_cmd="none"; fi
  if [ "$apt_cmd" != none ]; then
    echo "asnn setup: installing dataset-fashion-mnist (apt-get)"
    { $apt_cmd apt-get update -qq && DEBIAN_FRONTEND=noninteractive $apt_cmd apt-get install -y -qq \
        dataset-fashion-mnist; } >/dev/null 2>&1 \
      || echo "asnn setup: dataset-fashion-mnist could not be installed; Fashion-MNIST tests will skip" >&2
  fi
fi
VENV=.venv
stamp="$VENV/.asnn-installed"
want=$(cat pyproject.toml scripts/setup.sh | sha1sum | cut -c1-12)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then exit 0; fi

pyver=$("$PYTHON" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
case "$pyver" in
  3.10|3.11) ;;
  *) echo "asnn setup: Python $pyver found; asnn-neuro needs Python 3.10 or 3.11 (set PYTHON=...)" >&2; exit 2;;
esac
[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
PIP="$VENV/bin/python -m pip --disable-pip-version-check"
$PIP install -q --upgrade pip
if [ "$pyver" = "3.11" ]; then
  echo "asnn setup: installing torch 2.14.1 + torchvision 0.29.1 (first run takes a few minutes)"
  $PIP install -q "torch==2.14.1" "torchvision==0.29.1"
  echo "asnn setup: installing lava-nc 0.10.0 + lava-dl 0.6.0 (--no-deps, Python 3.11)"
  $PIP install -q --no-deps --ignore-requires-python "lava-nc==0.10.0" "lava-dl==0.6.0"
  $PIP install -q -e ".[dev,nir]"
  "$VENV/bin/python" -m asnn_neuro.compat.lava_compat
else
  $PIP install -q -e ".[dev,nir]"
fi
echo "asnn setup: installing sinabs 3.1.3, spikingjelly 2.0.0, norse 1.1.0, rockpool 3.1.0 (--no-deps; NIR conformance tests)"
$PIP install -q --no-deps "sinabs==3.1.3" "spikingjelly==2.0.0" "norse==1.1.0" "rockpool==3.1.0"
echo "asnn setup: installing neurobench 2.3.0 (--no-deps; the NeuroBench metrics cross-check)"
$PIP install -q --no-deps "neurobench==2.3.0"
"$VENV/bin/python" -c "import lava.magma.core.run_configs, lava.lib.dl.slayer, lava.lib.dl.netx" 2>/dev/null \
  || { echo "asnn setup: lava does not import after installation" >&2; exit 1; }
# build the compiled ASNN and CUBA CPU kernels now (else on first use); without a compiler training still works, slower
echo "asnn setup: ASNN CPU kernel: $("$VENV/bin/python" -c 'from asnn_neuro.neurons import native; print(native.status())')"
echo "asnn setup: CUBA CPU kernel: $("$VENV/bin/python" -c 'from asnn_neuro.neurons import native; print(native.status("cuba"))')"
echo "$want" > "$stamp"
echo "asnn setup: done ($VENV)"
