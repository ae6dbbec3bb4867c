#!/usr/bin/env bash
# Creates (once) and prints the path of a Python virtualenv holding real peers the tests run
# against (Synapse, sydent, schemathesis). Venvs live outside the clone so CI reuses them:
#   scripts/peer-venv.sh NAME 'package==version' [more packages…]
# prints  ${PEER_VENV_DIR:-$HOME/.cache/oxident/peers}/NAME
# A venv is rebuilt when the package list changes (it is recorded in the venv as .packages).
set -euo pipefail
name="$1"; shift
root="${PEER_VENV_DIR:-$HOME/.cache/oxident/peers}"
venv="$root/$name"
want="$(printf '%s\n' "$@")"
if [ -x "$venv/bin/python" ] && [ "$(cat "$venv/.packages" 2>/dev/null)" = "$want" ]; then
  echo "$venv"
  exit 0
fi
rm -rf "$venv"
mkdir -p "$root"
python3 -m venv "$venv" >&2
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$@" >&2
printf '%s' "$want" > "$venv/.packages"
echo "$venv"
