#!/usr/bin/env bash
# test_cli_walk.sh - walk lists offline through the CLI: import, walklist
# list/show/progress/next, record --fix (distance, signals, checks),
# signals, settings, export geojson; and, with a walkbook-server binary,
# walk lists pulled by `walkbook sync` and their progress after knocking.
#
# usage: test_cli_walk.sh WALKBOOK_BINARY [WALKBOOK_SERVER_BINARY]
set -u

if [ $# -lt 1 ] || [ $# -gt 2 ]; then
    echo "usage: $0 WALKBOOK_BINARY [WALKBOOK_SERVER_BINARY]" >&2
    exit 2
fi
WB=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
SERVER=${2-}
T=$(mktemp -d "${TMPDIR:-/tmp}/walkbook-walk.XXXXXX") || exit 2
SERVER_PID=
cleanup() {
    [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
    rm -rf "$T"
}
trap cleanup EXIT
unset WALKBOOK_DB WALKBOOK_TOKEN
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}exitcode=99"

PASS=0
FAIL=0
RC=0
pass() { PASS=$((PASS + 1)); }
fail() {
    FAIL=$((FAIL + 1))
    echo "FAIL: $*"
}
run() {
    "$WB" "$@" </dev/null >"$T/out" 2>"$T/err"
    RC=$?
    if grep -qE 'AddressSanitizer|LeakSanitizer|runtime error:' "$T/err"; then
        fail "sanitizer report from: walkbook $*"
        cat "$T/err"
    fi
}
# check DESC WANT_RC [STDERR_SUBSTRING]
check() {
    if [ "$RC" -ne "$2" ]; then
        fail "$1: exit $RC, want $2; stderr: $(head -c 400 "$T/err")"
    elif [ -n "${3-}" ] && ! grep -qF -- "$3" "$T/err"; then
        fail "$1: stderr lacks '$3': $(head -c 400 "$T/err")"
    else
        pass
    fi
}
py() {
    local desc=$1 script=$2 msg
    shift 2
    if msg=$(python3 -c "$script" "$@" 2>&1); then pass; else fail "$desc: $msg"; fi
}

CUST=cfa8df1b-baf1-446b-b06c-3177063faed7
USER=0651e380-d556-49bd-acdd-2bd813b16430
CAMP=61fbfbaa-5de8-4d17-ac2b-c47f2376265a
WL=5c1ce5e4-a374-493e-bab2-ce7c01999e27
H1=318dd74f-b495-48a9-8b83-a16d5e784033
H2=8f14b905-efd3-4f8f-a292-211a27c5126a
H3=a1b2c3d4-0000-4000-8000-000000000003
C1=0d8f66ce-2a6b-4caa-93f4-dd6f3996e09d
L1=515cc15e-9ea3-43ca-ace1-e1ef616cdc51
SURVEY=de9b9879-4d2a-460a-ac16-7356517c09d6
DB=$T/walk.db
W() { run --db "$DB" "$@"; }

# body HOUSEHOLD TIMESTAMP [EXTRA]
body() {
    printf '{"campaignId":"%s","contactId":"%s","householdId":"%s","walklistId":"%s","timestamp":"%s","unavailable":false,"survey":{"surveyId":"%s"}%s}\n' \
        "$CAMP" "$C1" "$1" "$WL" "$2" "$SURVEY" "${3:+,$3}"
}

for cmd in walklist import signals settings; do
    run "$cmd" --help
    check "$cmd --help" 0
done

W init --customer "$CUST" --user "$USER"
check "init" 0

# ---- import ------------------------------------------------------------------
cat >"$T/hh.csv" <<EOF
id,lat,lng,address,walklistId,campaignId
$H1,42.3736,-71.1097,"1 Main St, Cambridge",$WL,$CAMP
$H2,42.3750,-71.1097,2 Main St,$WL,
EOF
cat >"$T/bad.csv" <<EOF
id,lat,lng,walklistId
$H3,42.38,-71.11,$WL
a1b2c3d4-0000-4000-8000-000000000004,42.38,-181,$WL
EOF
cat >"$T/hh.geojson" <<EOF
{"type":"FeatureCollection","features":[{"type":"Feature","geometry":{"type":"Point","coordinates":[-71.1,42.4]},"properties":{"id":"$H3","walklistId":"$WL"}}]}
EOF
cat >"$T/contacts.csv" <<EOF
id,householdId,contactHouseholdId,given,surname
$C1,$H1,$L1,Jordan,Garcia
EOF
W import households "$T/bad.csv"
check "import refuses a bad row" 2 "line 3: lng: must be between -180 and 180"
W walklist
check "walklist list after a refused import" 0
py "nothing of the refused file was kept" 'import json,sys; assert json.load(open(sys.argv[1])) == []' "$T/out"
W import households "$T/hh.csv"
check "import households csv" 0
grep -q "^2 households imported" "$T/out" && pass || fail "import count: $(cat "$T/out")"
W --json import households "$T/hh.geojson"
check "import households geojson" 0
py "import --json" 'import json,sys; assert json.load(open(sys.argv[1])) == {"imported":1,"kind":"households"}' "$T/out"
W import contacts "$T/contacts.csv"
check "import contacts" 0
W import streets "$T/hh.csv"
check "import of an unknown kind" 1
W import households "$T/missing.csv"
check "import of a missing file" 2

# ---- walklist ------------------------------------------------------------------
W --json walklist list
check "walklist list" 0
py "walklist list" '
import json,sys
l = json.load(open(sys.argv[1]))
assert l == [{"id": sys.argv[2], "name": None, "campaignId": sys.argv[3], "households": 3}], l
' "$T/out" "$WL" "$CAMP"
W --json walklist show "$WL"
check "walklist show" 0
py "walklist show" '
import json,sys
d = json.load(open(sys.argv[1]))
hh = {h["id"]: h for h in d["households"]}
assert hh[sys.argv[2]]["address"] == "1 Main St, Cambridge" and hh[sys.argv[2]]["lat"] == 42.3736, hh
assert not any(h["knocked"] for h in hh.values())
' "$T/out" "$H1"
W walklist next "$WL" --near 42.3749,-71.1097 -k 2
check "walklist next" 0
py "walklist next: nearest first" '
import json,sys
d = json.load(open(sys.argv[1]))
assert [x["id"] for x in d] == [sys.argv[2], sys.argv[3]], d
assert 11 < d[0]["metres"] < 12, d[0]
' "$T/out" "$H2" "$H1"
W walklist next "$WL" --near 42.3749
check "walklist next with a bad point" 1 "--near: expected LAT,LNG"
W walklist next "$WL" --near 42,-71 -k 0
check "walklist next -k 0" 1 "-k"
W walklist progress 11111111-2222-4333-8444-555555555555
check "progress of an unknown walk list" 3 "not in the store"
W walklist bogus
check "unknown walklist subcommand" 1

# ---- record --fix ----------------------------------------------------------------
body "$H1" "2026-01-10T10:00:00.000Z" >"$T/b1.json"
W --json record --fix 42.3737,-71.1097,6.5,2099-01-01T00:00:00.000Z "$T/b1.json"
check "record --fix" 0
py "record --fix: location and distance" '
import json,sys
e = json.load(open(sys.argv[1]))
d = e["data"]
assert d["location"] == {"lat": 42.3737, "lng": -71.1097, "confidence": 6.5}, d["location"]
# 0.0001 degree of latitude at 42.37 N is 11.1 m on WGS84
assert abs(d["distance"] * 1609.344 - 11.1) < 0.1, d["distance"]
' "$T/out"
ID1=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$T/out")
W --json signals "$ID1"
check "signals ID" 0
py "a good fix raises no signal" '
import json,sys
s = json.load(open(sys.argv[1]))
assert s["signals"] == [], s
# the survey was never downloaded: noted, not refused
assert s["warnings"] == ["data.survey.surveyId: survey %s is not in the local cache" % sys.argv[2]], s
assert s["fix"]["accuracy"] == 6.5, s
' "$T/out" "$SURVEY"
body "$H2" "2026-01-10T10:05:00.000Z" >"$T/b2.json"
W record --fix 42.3800,-71.1097,80 "$T/b2.json"
check "record far away with poor accuracy" 0
body "$H3" "2026-01-10T10:06:00.000Z" >"$T/b3.json"
W record "$T/b3.json"
check "record without a fix" 0
W --json signals --signal missing_fix
check "signals --signal" 0
py "missing fix is flagged" 'import json,sys; assert len(json.load(open(sys.argv[1]))) == 1' "$T/out"
W --json signals --all
check "signals --all" 0
py "far and poor accuracy flagged" '
import json,sys
l = json.load(open(sys.argv[1]))
sig = sorted(s for x in l for s in x["signals"])
assert sig == ["missing_fix", "poor_accuracy", "very_far_from_door"], sig
' "$T/out"
W record --fix 42,-71,5,yesterday "$T/b1.json"
check "record with a bad fix time" 2 "fix.time"
W record --fix 42 "$T/b1.json"
check "record with half a fix" 1 "--fix"
W record --check strict --fix 42.3737,-71.1097 "$T/b2.json"
check "strict: the contact does not live at H2" 2 "data.householdId: the contact does not belong to this household"
W record --check loud "$T/b1.json"
check "record --check with a bad mode" 1 "--check"

# ---- settings --------------------------------------------------------------------
W --json settings "$CAMP" '{"nearMetres":20,"farMetres":50}'
check "settings set" 0
py "settings" '
import json,sys
s = json.load(open(sys.argv[1]))
assert s["nearMetres"] == 20 and s["farMetres"] == 50 and s["validation"] == "warn", s
' "$T/out"
W settings "$CAMP" '{"farMetres":"x"}'
check "settings refused" 2 "settings.farMetres: must be a positive number"

# ---- progress and export ------------------------------------------------------------
W --json walklist progress "$WL"
check "walklist progress" 0
py "progress" '
import json,sys
p = json.load(open(sys.argv[1]))
assert (p["households"], p["knocked"], p["remaining"]) == (3, 3, 0), p
' "$T/out"
W walklist next "$WL" --near 42.3749,-71.1097
check "next when every door is knocked" 0
py "no door left" 'import json,sys; assert json.load(open(sys.argv[1])) == []' "$T/out"
W export --format geojson
check "export geojson" 0
py "geojson carries location and signals" '
import json,sys
d = json.load(open(sys.argv[1]))
f = {x["properties"]["householdId"]: x for x in d["features"]}
assert f[sys.argv[2]]["geometry"]["coordinates"] == [-71.1097, 42.38], f
assert f[sys.argv[2]]["properties"]["signals"] == ["very_far_from_door", "poor_accuracy"], f
assert f[sys.argv[2]]["properties"]["accuracy"] == 80
assert f[sys.argv[3]]["properties"]["signals"] == []
' "$T/out" "$H2" "$H1"

# ---- walk lists pulled by sync, progress after knocking ------------------------------
if [ -n "$SERVER" ]; then
    "$SERVER" --port 0 --port-file "$T/port" --db :memory: --seed-demo --seed-households 40 \
        >"$T/server.log" 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 1 100); do [ -s "$T/port" ] && break; sleep 0.1; done
    PORT=$(cat "$T/port" 2>/dev/null)
    DCUST=de300000-0000-4000-8000-000000000001
    DUSER=de300000-0000-4000-8000-000000000004
    DB=$T/phone.db
    W init --customer "$DCUST" --user "$DUSER"
    check "phone init" 0
    W sync --server "http://127.0.0.1:$PORT" --token walkbook-demo-canvasser
    check "sync without --walklists" 0
    W walklist list
    py "no walk list without --walklists" 'import json,sys; assert json.load(open(sys.argv[1])) == []' "$T/out"
    W sync --server "http://127.0.0.1:$PORT" --token walkbook-demo-canvasser --walklists
    check "sync pulls the walk list" 0
    W --json walklist list
    check "walklist list after sync" 0
    DWL=$(python3 -c 'import json,sys; l=json.load(open(sys.argv[1])); print(l[0]["id"] if l else "")' "$T/out")
    py "the demo walk list came down" '
import json,sys
l = json.load(open(sys.argv[1]))
assert len(l) == 1 and l[0]["name"] == "Demo walk list" and l[0]["households"] == 40, l
' "$T/out"
    W --json walklist next "$DWL" --near 42.3736,-71.1097 -k 3
    check "next doors after sync" 0
    DH=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[0]["id"])' "$T/out")
    W --json walklist list
    CAMPID=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[0]["campaignId"])' "$T/out")
    W --json walklist progress "$DWL"
    check "progress after sync" 0
    py "nothing knocked yet" '
import json,sys
p = json.load(open(sys.argv[1]))
assert (p["households"], p["knocked"], p["remaining"]) == (40, 0, 40), p
' "$T/out"
    printf '{"campaignId":"%s","contactId":"%s","householdId":"%s","walklistId":"%s","timestamp":"2026-01-10T10:00:00.000Z","unavailable":false,"successful":true,"survey":{"surveyId":"%s"}}\n' \
        "$CAMPID" "$C1" "$DH" "$DWL" "$SURVEY" >"$T/knock.json"
    W record --fix 42.3736,-71.1097,5 "$T/knock.json"
    check "knock a pulled household" 0
    W --json walklist progress "$DWL"
    py "progress counts the knock" '
import json,sys
p = json.load(open(sys.argv[1]))
assert (p["knocked"], p["remaining"], p["successful"]) == (1, 39, 1), p
' "$T/out"
    W --json walklist next "$DWL" --near 42.3736,-71.1097 -k 3
    py "the knocked door is no longer next" '
import json,sys
assert sys.argv[2] not in [x["id"] for x in json.load(open(sys.argv[1]))]
' "$T/out" "$DH"
fi

echo "$PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
