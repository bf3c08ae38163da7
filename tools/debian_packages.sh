#!/usr/bin/env bash
# Installs the Debian packages a make target needs, only those missing, with one apt-get run.
#
#   tools/debian_packages.sh WHAT PACKAGE=CHECK [PACKAGE=CHECK ...]
#
# CHECK is a file that must exist or a command that must be on PATH once PACKAGE is installed.
# Installs as root, or through password-less sudo; otherwise (or without apt-get) it stops with
# the command that would install them. WHAT says, in messages, what needs them.
set -euo pipefail
what=$1; shift
missing=()
for pair in "$@"; do
  package=${pair%%=*}; check=${pair#*=}
  if [[ $check == /* ]]; then [[ -e $check ]] && continue; else command -v "$check" >/dev/null 2>&1 && continue; fi
  missing+=("$package")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0
fix="apt-get install ${missing[*]}"
if ! command -v apt-get >/dev/null 2>&1; then
  echo "$what: ${missing[*]} missing and there is no apt-get. Fix: install the equivalent of: $fix" >&2; exit 1
fi
if [[ $(id -u) == 0 ]]; then as_root=(); elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then as_root=(sudo -n)
else echo "$what: ${missing[*]} missing and this user can neither install packages nor sudo without a password. Fix: sudo $fix" >&2; exit 1; fi
echo "$what: installing Debian's ${missing[*]}"
# The package lists may be stale or absent on a fresh machine: update them only when an install fails.
if ! "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" </dev/null; then
  "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q </dev/null
  "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" </dev/null ||
    { echo "$what: apt-get could not install ${missing[*]}. Fix: $fix, then run make again" >&2; exit 1; }
fi
for pair in "$@"; do
  package=${pair%%=*}; check=${pair#*=}
  if [[ $check == /* ]]; then [[ -e $check ]] && continue; else command -v "$check" >/dev/null 2>&1 && continue; fi
  echo "$what: the package $package did not provide $check. Fix: install it so that $check exists" >&2; exit 1
done
