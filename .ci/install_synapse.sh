#!/usr/bin/env bash
# Install matrix-synapse from PyPI into its own virtual environment (.ci/venv-synapse),
# so the end-to-end Matrix tests can start a real homeserver on loopback.
# Idempotent: does nothing when the venv already imports synapse at a matching version.
# Usage: .ci/install_synapse.sh            (uses python3 from PATH)
#        PYTHON=python3.11 SYNAPSE_VERSION=1.120.0 .ci/install_synapse.sh
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="${SYNAPSE_VENV:-$here/venv-synapse}"
python="${PYTHON:-python3}"
spec="matrix-synapse${SYNAPSE_VERSION:+==$SYNAPSE_VERSION}"

if [ -x "$venv/bin/python" ] && "$venv/bin/python" -c 'import synapse.app.homeserver' 2>/dev/null; then
    installed="$("$venv/bin/python" -c 'import synapse; print(synapse.__version__)')"
    if [ -z "${SYNAPSE_VERSION:-}" ] || [ "$installed" = "$SYNAPSE_VERSION" ]; then
        echo "synapse $installed already installed in $venv"
        exit 0
    fi
fi

echo "installing $spec into $venv"
"$python" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --upgrade pip
"$venv/bin/python" -m pip install --quiet "$spec"
"$venv/bin/python" -c 'import synapse; print("synapse", synapse.__version__, "installed")'
