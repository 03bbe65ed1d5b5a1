#!/usr/bin/env bash
# tools/demo.sh BUILD_DIR - the main job for now: a canvasser's phone records
# a handful of door knocks offline (Polis interaction shapes from
# ../shared/testdata/polis), edits one, deletes one, and the store shows its
# status and exports what it holds.
set -euo pipefail

build=$1
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
polis="$root/../shared/testdata/polis"
wb="$build/tools/walkbook/walkbook"
work="$build/demo"
rm -rf "$work"
mkdir -p "$work"
export WALKBOOK_DB="$work/phone.db"

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "A new store on the phone: customer, canvasser, security group"
"$wb" init --customer cfa8df1b-baf1-446b-b06c-3177063faed7 \
  --user 0651e380-d556-49bd-acdd-2bd813b16430 \
  --security-group e822d07f-5972-4ff2-bc75-dbd68d6d79bf

say "Recording door knocks offline (v2 flat and v1 wrapped create bodies)"
ids=()
ids+=("$("$wb" record "$polis/interaction-v3-create-request.json")")
ids+=("$("$wb" record "$polis/interaction-v1-create-request.json")")
# Three more knocks along the same street, a few minutes apart.
for i in 1 2 3; do
  sed -e "s/2018-07-17T18:40:53.526Z/2018-07-17T18:4${i}:10.000Z/" \
      -e "s/0478dbbf-b6eb-4168-afa9-5ebab6fef4b6/0478dbbf-b6eb-4168-afa9-5ebab6fef4b${i}/" \
      "$polis/interaction-v3-create-request.json" >"$work/knock$i.json"
  ids+=("$("$wb" record "$work/knock$i.json")")
done
printf '  recorded %s\n' "${ids[@]}"

say "The canvasser corrects one answer (JSON Patch relative to data)"
printf '[{"op":"replace","path":"/successful","value":true},{"op":"replace","path":"/unavailable","value":false}]' \
  | "$wb" update "${ids[2]}" -
"$wb" get "${ids[2]}" | head -n 12
echo "  …"

say "…and deletes a knock recorded by mistake (a soft delete: a tombstone stays)"
"$wb" delete "${ids[4]}"

say "What is on the phone"
"$wb" list

say "Status"
"$wb" status

say "Export (ndjson, csv, geojson)"
"$wb" export --format ndjson --out "$work/export.ndjson"
"$wb" export --format csv --out "$work/export.csv"
"$wb" export --format geojson --out "$work/export.geojson"
wc -l "$work/export.ndjson" "$work/export.csv"
head -n 3 "$work/export.csv" | cut -c1-160
echo
echo "demo: store at $WALKBOOK_DB, exports in $work"
