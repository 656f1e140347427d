#!/usr/bin/env bash
# The GPU rows of the benchmarks page in one run, on a machine with JAX but no TensorFlow.
#
#   bash scripts/gpu_check.sh prepare     # here, with PyPI and MNIST at hand: fills .gpu_carry/ (~21 MB)
#   bash scripts/gpu_check.sh             # there, offline: installs what is missing, runs the benchmark
#   bash scripts/gpu_check.sh --no-write  # options after the first word go to `python -m benchmarks --gpu-full`
#
# `prepare` downloads the wheels of Keras and of what Keras needs (versions from constraints.txt,
# for CPython $GPU_PY_VERSION, default 3.12, x86-64 Linux) into .gpu_carry/wheels/ and copies
# MNIST from the Keras cache ($KERAS_HOME/datasets/mnist.npz, default ~/.keras) into
# .gpu_carry/keras_home/datasets/. Bring the repository and that folder to the GPU machine.
#
# The run installs, with `pip install --no-deps --no-index --target`, only the carried wheels
# whose package the machine's Python lacks (Keras unless it already has Keras 3.15), then runs
#   KERAS_BACKEND=jax KERAS_HOME=.gpu_carry/keras_home python -m benchmarks --gpu-full
# which prints one line per measured row (and per MNIST epoch) and writes the GPU section of
# book/benchmarks.md after a full-scale GPU run. A few minutes on one recent GPU.
#
# Environment: PYTHON (default python3), GPU_CARRY (default <repo>/.gpu_carry), GPU_SITE (where the
# wheels are installed, default /tmp/cnnbook_site), KERAS_BACKEND (default jax), KERAS_HOME (default
# the carried folder when it holds MNIST), GPU_PY_VERSION (prepare only).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CARRY="${GPU_CARRY:-$ROOT/.gpu_carry}"
PY="${PYTHON:-python3}"
SITE="${GPU_SITE:-/tmp/cnnbook_site}"

# distribution (as in constraints.txt) -> module that shows it is installed
PACKAGES="keras:keras namex:namex optree:optree absl-py:absl rich:rich markdown-it-py:markdown_it mdurl:mdurl
Pygments:pygments h5py:h5py ml_dtypes:ml_dtypes packaging:packaging typing_extensions:typing_extensions"

pin() {  # the exact version constraints.txt gives a distribution (case and -/_ ignored)
    local norm
    norm="$(echo "$1" | tr 'A-Z_' 'a-z-')"
    awk -F'==' -v n="$norm" '{ d = tolower($1); gsub("_", "-", d); if (d == n) { print $1 "==" $2; exit } }' \
        "$ROOT/constraints.txt"
}

prepare() {
    local pyver="${GPU_PY_VERSION:-3.12}" specs=() spec dist mnist home
    mkdir -p "$CARRY/wheels" "$CARRY/keras_home/datasets"
    for entry in $PACKAGES; do
        dist="${entry%%:*}"
        spec="$(pin "$dist")"
        [ -n "$spec" ] || { echo "error: $dist is not pinned in constraints.txt" >&2; exit 1; }
        specs+=("$spec")
    done
    rm -f "$CARRY"/wheels/*.whl
    "$PY" -m pip download -q --no-deps --only-binary=:all: --python-version "$pyver" --implementation cp \
        --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
        --platform manylinux2014_x86_64 --platform manylinux1_x86_64 -d "$CARRY/wheels" "${specs[@]}"
    home="${KERAS_HOME:-$HOME/.keras}"
    mnist="$home/datasets/mnist.npz"
    if [ ! -f "$mnist" ]; then
        echo "error: real MNIST is not in the Keras cache: $mnist is missing; seed it from a file you have with" \
             "\`python -m cnnbook.data seed mnist <mnist.npz or mnist.pkl.gz>\`" >&2
        exit 1
    fi
    cp "$mnist" "$CARRY/keras_home/datasets/mnist.npz"
    if git -C "$ROOT" rev-parse --git-dir >/dev/null 2>&1 && ! git -C "$ROOT" check-ignore -q "$CARRY" 2>/dev/null; then
        case "$CARRY" in "$ROOT"/*)  # keep the carried folder out of git status
            echo "/${CARRY#"$ROOT"/}/" >> "$(git -C "$ROOT" rev-parse --git-path info/exclude)" ;;
        esac
    fi
    ls -l "$CARRY/wheels" "$CARRY/keras_home/datasets"
    du -sh "$CARRY"
}

has_module() {  # has_module keras -> true when the machine's Python imports it (keras: version 3.15)
    if [ "$1" = keras ]; then
        "$PY" -c "import keras, sys; sys.exit(0 if keras.__version__.startswith('3.15.') else 1)" >/dev/null 2>&1
    else
        "$PY" -c "import $1" >/dev/null 2>&1
    fi
}

run() {
    local need=() dist module wheel norm w b
    [ -d "$CARRY/wheels" ] || echo "note: no $CARRY/wheels (run \`bash scripts/gpu_check.sh prepare\` where PyPI is" \
                                   "reachable); using the packages installed here"
    for entry in $PACKAGES; do
        dist="${entry%%:*}"
        module="${entry##*:}"
        has_module "$module" && continue
        norm="$(echo "$dist" | tr 'A-Z-' 'a-z_')"
        wheel=""
        for w in "$CARRY"/wheels/*.whl; do
            [ -f "$w" ] || continue
            b="$(basename "$w")"
            b="$(echo "${b%%-*}" | tr 'A-Z-' 'a-z_')"
            if [ "$b" = "$norm" ]; then wheel="$w"; break; fi
        done
        if [ -z "$wheel" ]; then
            echo "error: $PY lacks $dist and $CARRY/wheels holds no wheel of it (bash scripts/gpu_check.sh prepare)" >&2
            exit 1
        fi
        need+=("$wheel")
    done
    if [ ${#need[@]} -gt 0 ]; then
        echo "installing into $SITE: $(for w in "${need[@]}"; do basename "$w"; done | tr '\n' ' ')"
        mkdir -p "$SITE"
        if ! "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$SITE" \
                "${need[@]}"; then
            echo "pip failed; unpacking the wheels instead"
            "$PY" -c "import sys, zipfile; [zipfile.ZipFile(w).extractall(sys.argv[1]) for w in sys.argv[2:]]" \
                "$SITE" "${need[@]}"
        fi
    fi
    export PYTHONPATH="$SITE:$ROOT${PYTHONPATH:+:$PYTHONPATH}"
    export KERAS_BACKEND="${KERAS_BACKEND:-jax}"
    if [ -z "${KERAS_HOME:-}" ] && [ -f "$CARRY/keras_home/datasets/mnist.npz" ]; then
        export KERAS_HOME="$CARRY/keras_home"
    fi
    export PYTHONUNBUFFERED=1 TF_CPP_MIN_LOG_LEVEL=3
    cd "$ROOT"
    "$PY" -c "import keras, sys; print('python', sys.version.split()[0], '| keras', keras.__version__, \
'| backend', keras.backend.backend(), '| tensorflow installed:', \
__import__('importlib.util').util.find_spec('tensorflow') is not None)"
    echo "KERAS_HOME=${KERAS_HOME:-<default>}"
    exec "$PY" -m benchmarks --gpu-full "$@"
}

if [ "${1:-}" = prepare ]; then
    shift
    prepare "$@"
else
    run "$@"
fi
