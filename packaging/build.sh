#!/usr/bin/env bash
# Build the self-contained usannotate app (PyInstaller, one folder) into dist/usannotate/:
#   bash packaging/build.sh            # then: dist/usannotate/usannotate [LOOP]
# It installs the package from this checkout (a wheel, not an editable install, so missing
# package data shows) and PyInstaller into a venv of its own under build/bundle/.
# Then check the artefact: bash packaging/smoke.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=${BUNDLE_WORK:-$root/build/bundle}
python=${PYTHON:-python3}
mkdir -p "$work"
if [[ ! -x "$work/venv/bin/python" ]]; then
    "$python" -m venv "$work/venv"
fi
pip=("$work/venv/bin/python" -m pip --disable-pip-version-check -q)
"${pip[@]}" install --upgrade pip
"${pip[@]}" install "pyinstaller>=6.10" "$root"
"$work/venv/bin/pyinstaller" --noconfirm --clean --log-level WARN \
    --distpath "$root/dist" --workpath "$work/pyinstaller" "$root/packaging/usannotate.spec"
size=$(du -sh "$root/dist/usannotate" | cut -f1)
echo "built $root/dist/usannotate ($size)"
