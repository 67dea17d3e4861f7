#!/usr/bin/env bash
# Check the built bundle (dist/usannotate), not the source tree: its CLI, and its window
# under Xvfb on the bundled sample and on a real US file from pydicom's test data, each
# opened, marked, saved and closed (`usannotate --smoke-test`). Exit 0 when all pass.
#   bash packaging/smoke.sh [BUNDLE_DIR]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bundle=${1:-$root/dist/usannotate}
app="$bundle/usannotate"
[[ -x "$app" ]] || { echo "no bundle at $bundle: run packaging/build.sh first" >&2; exit 1; }
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
# A user who never ran it: settings, cache and data of a home of its own.
export HOME="$scratch/home" XDG_CONFIG_HOME="$scratch/home/.config" \
    XDG_CACHE_HOME="$scratch/home/.cache" XDG_DATA_HOME="$scratch/home/.local/share"
mkdir -p "$HOME"

"$app" --version
cp "$bundle/_internal/sample_dicoms/hydrodissection_linear_a.dcm" "$scratch/sample.dcm"
"$app" info "$scratch/sample.dcm" | head -3
# A real scanner's file that pydicom ships (SonoSite, YBR JPEG), taken from the bundle's
# own pydicom data, else from this checkout's venv.
us=$(find "$bundle/_internal" -name examples_ybr_color.dcm | head -1)
[[ -n "$us" ]] || us=$("$root/.venv/bin/python" -c \
    "from pydicom.data import get_testdata_file; print(get_testdata_file('examples_ybr_color.dcm'))")
cp "$us" "$scratch/sonosite.dcm"
run_gui() {
    if [[ -n "${DISPLAY:-}" ]]; then "$@"; else xvfb-run -a -s "-screen 0 1400x900x24" "$@"; fi
}
for loop in "$scratch/sample.dcm" "$scratch/sonosite.dcm"; do
    start=$(date +%s.%N)
    run_gui "$app" --smoke-test "$loop" 2> "$scratch/stderr" || { cat "$scratch/stderr" >&2; exit 1; }
    # A traceback anywhere (a lazy import missing from the bundle, say) is a failure too.
    if grep -q "Traceback" "$scratch/stderr"; then
        cat "$scratch/stderr" >&2; echo "traceback while running $(basename "$loop")" >&2; exit 1
    fi
    echo "  window: $(basename "$loop") opened, marked, saved, closed in" \
        "$(echo "$(date +%s.%N) - $start" | bc) s"
    [[ -s "${loop%.dcm}.usannotate.json" ]] || { echo "no sidecar for $loop" >&2; exit 1; }
done
"$app" desktop install --data-dir "$scratch/share" >/dev/null
# What the CLI loads lazily works in the bundle too: tracking (OpenCV, scikit-image) from
# the needle the window saved, measuring, de-identification (imagecodecs' encoders).
"$app" track "$scratch/sample.dcm" --frames 0:5 --output "$scratch/tracked.json"
"$app" measure "$scratch/sample.dcm" --sidecar "$scratch/tracked.json" | head -2
"$app" deidentify "$scratch/sample.dcm" --output "$scratch/deid/sample.dcm" --encoding rle
"$app" info "$scratch/deid/sample.dcm" | head -2
# The PACS clients load in the bundle: a server that is not there is one clear line, exit 2.
for server in http://127.0.0.1:9/dicom-web dicom://NOBODY@127.0.0.1:9; do
    set +e; answer=$("$app" pacs echo "$server" 2>&1); status=$?; set -e
    if [[ $status -ne 2 || "$answer" != *"cannot reach the server"* ]]; then
        echo "pacs echo $server in the bundle: $answer (exit $status)" >&2; exit 1
    fi
done
echo "smoke test of $bundle passed ($(du -sh "$bundle" | cut -f1))"
