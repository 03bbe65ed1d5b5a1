#!/usr/bin/env bash
# test_cli.sh - end-to-end tests of the walkbook command-line tool.
#
# usage: test_cli.sh WALKBOOK_BINARY TESTDATA_DIR [WALKBOOK_SERVER_BINARY]
#
# Every case runs the binary, then checks its exit code, its one-line error
# on stderr (naming the field) and its output (JSON checked with python3).
# Ends with "N passed, N failed" and a non-zero exit on any failure.
set -u

if [ $# -lt 2 ] || [ $# -gt 3 ]; then
    echo "usage: $0 WALKBOOK_BINARY TESTDATA_DIR [WALKBOOK_SERVER_BINARY]" >&2
    exit 2
fi
# Absolute, so that cases may change directory.
WB=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
DATA=$2/polis
T=$(mktemp -d "${TMPDIR:-/tmp}/walkbook-cli.XXXXXX") || exit 2
trap 'rm -rf "$T"' EXIT

# Keep the environment from choosing the store for us.
unset WALKBOOK_DB
# A sanitizer report must not hide behind an expected non-zero exit code:
# make it distinctive, and look for the report itself as well.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}exitcode=99"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}print_stacktrace=1"

PASS=0
FAIL=0
RC=0
IN=/dev/null

pass() { PASS=$((PASS + 1)); }
fail() {
    FAIL=$((FAIL + 1))
    echo "FAIL: $*"
}

# run ARGS...: run walkbook with stdin from $IN; sets RC, $T/out, $T/err.
run() {
    "$WB" "$@" <"$IN" >"$T/out" 2>"$T/err"
    RC=$?
    if grep -qE 'AddressSanitizer|LeakSanitizer|runtime error:' "$T/err"; then
        fail "sanitizer report from: walkbook $*"
        cat "$T/err"
    fi
}

# check DESC WANT_RC [STDERR_SUBSTRING]: the exit code of the last run; for a
# failure also that stderr is one line "walkbook: [CMD: ]..." containing the
# substring.
check() {
    local desc=$1 want=$2 pat=${3-}
    if [ "$RC" -ne "$want" ]; then
        fail "$desc: exit $RC, want $want; stderr: $(head -c 400 "$T/err")"
        return
    fi
    if [ "$want" -ne 0 ] && [ "$want" -ne 1 -o -n "$pat" ]; then
        local lines
        lines=$(wc -l <"$T/err")
        if [ "$lines" -ne 1 ] || ! head -n 1 "$T/err" | grep -qE '^walkbook: [^ ]'; then
            fail "$desc: stderr is not one 'walkbook: ...' line: $(head -c 400 "$T/err")"
            return
        fi
    fi
    if [ -n "$pat" ] && ! grep -qF -- "$pat" "$T/err"; then
        fail "$desc: stderr lacks '$pat': $(head -c 400 "$T/err")"
        return
    fi
    pass
}

# expect DESC ACTUAL WANTED
expect() {
    if [ "$2" = "$3" ]; then
        pass
    else
        fail "$1: got '$2', want '$3'"
    fi
}

# py DESC SCRIPT [ARGS...]: a python3 check that exits 0 when it holds.
py() {
    local desc=$1 script=$2
    shift 2
    local msg
    if msg=$(python3 -c "$script" "$@" 2>&1); then
        pass
    else
        fail "$desc: $msg"
    fi
}

# Every stdout line of the last run is one JSON document.
PY_NDJSON='
import json, sys
lines = open(sys.argv[1]).read().splitlines()
assert lines, "no output"
for l in lines:
    json.loads(l)
'
# The number of non-empty stdout lines of the last run.
nlines() { grep -c . "$T/out"; }

# ---- fixtures ----------------------------------------------------------------

CUST=cfa8df1b-baf1-446b-b06c-3177063faed7
USER=0651e380-d556-49bd-acdd-2bd813b16430
USER2=9b2d3c4e-5f60-4a7b-8c9d-0e1f2a3b4c5d
SG=e822d07f-5972-4ff2-bc75-dbd68d6d79bf
CAMP_A=61fbfbaa-5de8-4d17-ac2b-c47f2376265a
CAMP_B=d545b1e1-8f97-4ae4-a164-1b4a4a87bc07
CAMP_NONE=0a0b0c0d-1e2f-4a3b-8c4d-5e6f7a8b9c0d
CONTACT_1=0478dbbf-b6eb-4168-afa9-5ebab6fef4b6
CONTACT_2=3e591604-059a-4726-a0b9-0af6316adfa6
HH_1=c15e3515-aabf-42da-8d1b-31679f738eae
WL=5b0e9a52-3c1f-4d7e-9a8b-2f6c1d0e4a71
SURVEY=375d437b-3b47-4940-b43d-be8daec4afff
UNKNOWN_ID=11111111-2222-4333-8444-555555555555

# body CAMPAIGN CONTACT TIMESTAMP [EXTRA_MEMBERS]: a flat create body.
body() {
    printf '{"campaignId":"%s","contactId":"%s","timestamp":"%s","unavailable":false,"survey":{"surveyId":"%s","responses":{}}%s}\n' \
        "$1" "$2" "$3" "$SURVEY" "${4:+,$4}"
}

DB=$T/store.db
W() { run --db "$DB" "$@"; }

# ---- help and usage ------------------------------------------------------------

run --help
check "--help" 0
grep -q "Exit codes" "$T/out" && pass || fail "--help lacks the exit-code table"
grep -q "^  *4  " "$T/out" && pass || fail "--help lacks exit code 4"
run help
check "help" 0
for cmd in init record get update delete list status export; do
    run "$cmd" --help
    check "$cmd --help" 0
    grep -q "usage: walkbook" "$T/out" && pass || fail "$cmd --help prints no usage"
    run help "$cmd"
    check "help $cmd" 0
    grep -q "usage: walkbook.* $cmd" "$T/out" && pass || fail "help $cmd prints no usage"
    run "$cmd" -h
    check "$cmd -h" 0
done
run --version
check "--version" 0
run
check "no command" 1
run bogus
check "unknown command" 1 "bogus"
run help bogus
check "help of an unknown command" 1 "bogus"
run --bogus status
check "unknown global option" 1 "--bogus"
run --db
check "--db without a value" 1 "--db"
run --db "$DB" list --bogus
check "unknown list option" 1 "--bogus"
run --db "$DB" list --limit
check "--limit without a value" 1 "--limit"
run --db "$DB" list --limit abc
check "--limit not a number" 1 "--limit"
run --db "$DB" list --limit -3
check "--limit negative" 1 "--limit"
run --db "$DB" get
check "get without an id" 1 "ID"
run --db "$DB" get a b
check "get with two ids" 1 "'b'"
run --db "$DB" delete
check "delete without an id" 1
run --db "$DB" update
check "update without an id" 1
run --db "$DB" status extra
check "status with an argument" 1
run --db "$DB" init --user "$USER"
check "init without --customer" 1 "--customer"
run --db "$DB" init --customer "$CUST"
check "init without --user" 1 "--user"
run --db "$DB" export --format xml
check "export --format xml" 1 "xml"
run --busy-timeout soon --db "$DB" status
check "--busy-timeout not a number" 1 "--busy-timeout"

# ---- stores that cannot be used ------------------------------------------------

run --db "$T/missing.db" status
check "status of a missing store" 4
[ ! -e "$T/missing.db" ] && pass || fail "status created a store"
run --db "$T/missing.db" list
check "list of a missing store" 4
IN=$DATA/interaction-v3-create-request.json run --db "$T/missing.db" record
check "record into a missing store" 4

printf 'shopping list\neggs\nmilk\n%.0s' {1..200} >"$T/text.db"
run --db "$T/text.db" status
check "status of a text file" 4
run --db "$T/text.db" init --customer "$CUST" --user "$USER"
check "init on a text file" 4
cmp -s "$T/text.db" <(printf 'shopping list\neggs\nmilk\n%.0s' {1..200}) && pass ||
    fail "init changed a text file"

python3 - "$T/other.db" <<'EOF'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.execute("CREATE TABLE recipes (id INTEGER PRIMARY KEY, name TEXT, steps TEXT)")
db.execute("INSERT INTO recipes (name, steps) VALUES ('bread', 'knead')")
db.commit()
db.close()
EOF
run --db "$T/other.db" init --customer "$CUST" --user "$USER"
check "init on another application's SQLite file" 4
py "init left the other application's file alone" '
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
names = [r[0] for r in db.execute("SELECT name FROM sqlite_master ORDER BY name")]
assert names == ["recipes"], names
' "$T/other.db"
run --db "$T/other.db" list
check "list on another application's SQLite file" 4
run --db "$T/other.db" status
check "status on another application's SQLite file" 4

# ---- init --------------------------------------------------------------------------

run --db "$T/badid.db" init --customer not-a-uuid --user "$USER"
check "init with a bad customer id" 2 "customer"
# That init created the file but set no identity: recording needs one.
IN=$DATA/interaction-v3-create-request.json run --db "$T/badid.db" record
check "record without an identity" 3

W init --customer "$CUST" --user "$USER" --security-group "$SG"
check "init" 0
[ -f "$DB" ] && pass || fail "init created no file"
W init --customer "$CUST" --user "$USER" --security-group "$SG"
check "init again with the same identity" 0
W init --customer "$CUST" --user "$USER2" --security-group "$SG"
check "init again with another user" 10
W --json init --customer "$CUST" --user "$USER" --security-group "$SG"
check "init --json" 0
py "init --json prints the identity" '
import json, sys
d = json.loads(open(sys.argv[1]).read())
assert d["customerId"] == sys.argv[2], d
assert d["userId"] == sys.argv[3], d
assert d["securityGroupIds"] == [sys.argv[4]], d
' "$T/out" "$CUST" "$USER" "$SG"

WALKBOOK_DB=$DB run status
check "status with the store from \$WALKBOOK_DB" 0
run status --db "$DB"
check "--db after the command" 0

# ---- record ------------------------------------------------------------------------

# R1: the flat v2 body from a file.
W record "$DATA/interaction-v3-create-request.json"
check "record a flat body from a file" 0
R1=$(cat "$T/out")
[[ $R1 =~ ^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$ ]] && pass ||
    fail "record printed '$R1', not a UUID v4"

# R2: the wrapped v1 body from stdin.
IN=$DATA/interaction-v1-create-request.json W record
check "record a wrapped body from stdin" 0
R2=$(cat "$T/out")

# R3: campaign A, contact 2, a walk list, no location, a formula-like and
# quoted reason; through "-".
body "$CAMP_A" "$CONTACT_2" 2019-01-01T10:00:00.000Z \
    "\"householdId\":\"$HH_1\",\"walklistId\":\"$WL\",\"unavailableReason\":\"=1+2, \\\"quoted\\\"\"" \
    >"$T/r3.json"
IN=$T/r3.json W record -
check "record from stdin as -" 0
R3=$(cat "$T/out")

# R4: campaign B, contact 1, with a location; --json prints the envelope.
body "$CAMP_B" "$CONTACT_1" 2020-06-01T00:00:00.000Z \
    '"successful":true,"unavailableReason":"@home","location":{"lat":-33.8688,"lng":151.2093,"confidence":5}' \
    >"$T/r4.json"
W --json record "$T/r4.json"
check "record --json" 0
expect "record --json prints one line" "$(nlines)" 1
py "record --json prints the envelope" '
import json, sys
d = json.loads(open(sys.argv[1]).read())
assert d["data"]["campaignId"] == sys.argv[2], d
assert d["meta"]["createdBy"] == sys.argv[3], d
assert d["customerId"] == sys.argv[4], d
' "$T/out" "$CAMP_B" "$USER" "$CUST"
R4=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$T/out")

# Refused records store nothing and name the field.
body "$CAMP_A" "$CONTACT_1" 2019-02-30T00:00:00.000Z >"$T/bad-ts.json"
W record "$T/bad-ts.json"
check "record with 2019-02-30" 2 "timestamp"
printf '{"contactId":"%s","timestamp":"2019-01-01T00:00:00.000Z","unavailable":false,"survey":{"surveyId":"%s"}}' \
    "$CONTACT_1" "$SURVEY" >"$T/no-campaign.json"
W record "$T/no-campaign.json"
check "record without campaignId" 2 "campaignId"
body "$CAMP_A" "$CONTACT_1" 2019-01-01T00:00:00.000Z '"color":"red"' >"$T/color.json"
W record "$T/color.json"
check "record with an unknown member" 2 "color"
body "$CAMP_A" "$CONTACT_1" 2019-01-01T00:00:00.000Z '"location":{"lat":91,"lng":0}' >"$T/lat.json"
W record "$T/lat.json"
check "record with latitude 91" 2 "lat"
printf '{"campaignId": ' >"$T/truncated.json"
W record "$T/truncated.json"
check "record with truncated JSON" 2
W record "$T/nonexistent.json"
check "record from a missing file" 2 "nonexistent.json"
W record
check "record from empty stdin" 2
head -c $((16 * 1024 * 1024 + 1)) /dev/zero | tr '\0' ' ' >"$T/big.json"
W record "$T/big.json"
check "record over 16 MiB" 2 "input larger than 16 MiB"
rm -f "$T/big.json"
W record "$T/a.json" "$T/b.json"
check "record with two files" 1

W --json status
py "status after four records" '
import json, sys
d = json.loads(open(sys.argv[1]).read())
i = d["interactions"]
assert i["pendingCreate"] == 4, i
assert i["live"] == 4 and i["tombstones"] == 0 and i["synced"] == 0, i
assert d["schemaVersion"] >= 1 and d["fileSize"] > 0, d
' "$T/out"

# ---- get ---------------------------------------------------------------------------

W get "$R1"
check "get" 0
[ "$(nlines)" -gt 1 ] && pass || fail "get is not pretty-printed"
py "get prints the envelope" '
import json, sys
d = json.loads(open(sys.argv[1]).read())
assert d["id"] == sys.argv[2], d
assert d["data"]["location"]["lat"] == 33.43174362182617, d
assert d["data"]["householdId"] == "c15e3515-aabf-42da-8d1b-31679f738eae", d
assert d["meta"]["isDeleted"] is False, d
' "$T/out" "$R1"
W --json get "$R2"
check "get --json" 0
expect "get --json prints one line" "$(nlines)" 1
py "get --json prints the wrapped body's data" '
import json, sys
d = json.loads(open(sys.argv[1]).read())
assert d["data"]["campaignId"] == "d545b1e1-8f97-4ae4-a164-1b4a4a87bc07", d
assert "data" not in d["data"], d
' "$T/out"
W get "$UNKNOWN_ID"
check "get of an unknown id" 3

# ---- list --------------------------------------------------------------------------

W list
check "list" 0
expect "list prints a header and four rows" "$(nlines)" 5
head -n 1 "$T/out" | grep -q "ID.*TIMESTAMP.*CAMPAIGN.*STATE.*DELETED" && pass ||
    fail "list header: $(head -n 1 "$T/out")"
grep "$R1" "$T/out" | grep -q "2018-07-17T18:40:53.526Z  $CAMP_A  pending_create  *no" && pass ||
    fail "list row of R1: $(grep "$R1" "$T/out")"
sed -n 2p "$T/out" | grep -q "^$R2 " && pass || fail "list is not in time order"

W --json list
check "list --json" 0
expect "list --json prints four lines" "$(nlines)" 4
py "list --json lines are JSON" "$PY_NDJSON" "$T/out"
py "list --json is in time order" '
import json, sys
ts = [json.loads(l)["data"]["timestamp"] for l in open(sys.argv[1])]
assert ts == sorted(ts), ts
' "$T/out"

# list_count EXPECTED DESC FILTER...: list --json with filters prints N lines.
list_count() {
    local want=$1 desc=$2
    shift 2
    W --json list "$@"
    if [ "$RC" -ne 0 ]; then
        fail "list $desc: exit $RC: $(head -c 400 "$T/err")"
        return
    fi
    expect "list $desc" "$(grep -c . "$T/out")" "$want"
}
list_count 2 "--campaign A" --campaign "$CAMP_A"
list_count 2 "--campaign B" --campaign "$CAMP_B"
list_count 0 "--campaign of no record" --campaign "$CAMP_NONE"
list_count 2 "--contact 1" --contact "$CONTACT_1"
list_count 2 "--contact 2" --contact "$CONTACT_2"
list_count 1 "--campaign A --contact 2" --campaign "$CAMP_A" --contact "$CONTACT_2"
list_count 2 "--household" --household "$HH_1"
list_count 1 "--walklist" --walklist "$WL"
list_count 2 "--since 2019" --since 2019-01-01T00:00:00.000Z
list_count 2 "--until 2019" --until 2019-01-01T00:00:00.000Z
list_count 1 "--since equal to a timestamp is inclusive" --since 2020-06-01T00:00:00.000Z
list_count 0 "--until equal to a timestamp is exclusive" --until 2017-09-18T12:51:55.000Z
list_count 2 "--since 2018 --until 2019-06" --since 2018-01-01T00:00:00.000Z \
    --until 2019-06-01T00:00:00.000Z
list_count 3 "--limit 3" --limit 3
list_count 4 "--limit 0 (no limit)" --limit 0
list_count 4 "--state pending_create" --state pending_create
list_count 0 "--state synced" --state synced
list_count 4 "--state synced,pending_create" --state synced,pending_create
list_count 4 "--state synced --state pending_create" --state synced --state pending_create
list_count 4 "--state pending" --state pending
W --json list --campaign "$CAMP_A"
py "list --campaign returns only campaign A" '
import json, sys
for l in open(sys.argv[1]):
    assert json.loads(l)["data"]["campaignId"] == sys.argv[2], l
' "$T/out" "$CAMP_A"
W list --count --campaign "$CAMP_B"
check "list --count" 0
expect "list --count --campaign B" "$(cat "$T/out")" 2
W list --state bogus
check "list --state bogus" 1 "bogus"
W list --state synced,,pending_create
check "list --state with an empty name" 1 "--state"
W list --campaign not-a-uuid
check "list --campaign not-a-uuid" 2 "campaign"
W list --since yesterday
check "list --since yesterday" 2 "since"
W list --deleted --deleted-only
check "list --deleted --deleted-only" 1

# ---- update ------------------------------------------------------------------------

# field ID FIELD: print data.FIELD of record ID as JSON.
field() {
    W --json get --deleted "$1"
    python3 -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1]))["data"].get(sys.argv[2])))' \
        "$T/out" "$2"
}

echo '[{"op":"replace","path":"/data/successful","value":true}]' >"$T/p-data.json"
W update "$R1" "$T/p-data.json"
check "update with a /data/ path" 0
expect "update with a /data/ path applied" "$(field "$R1" successful)" true
echo '[{"op":"replace","path":"/successful","value":false}]' >"$T/p-rel.json"
IN=$T/p-rel.json W update "$R1"
check "update with a data-relative path from stdin" 0
expect "update with a data-relative path applied" "$(field "$R1" successful)" false
echo '{"data":[{"op":"add","path":"/statusId","value":"7f3e2d1c-0b9a-4876-9543-210fedcba987"}]}' \
    >"$T/p-wrapped.json"
IN=$T/p-wrapped.json W --json update "$R1" -
check "update with a wrapped patch through -" 0
py "update --json prints the updated envelope" '
import json, sys
d = json.loads(open(sys.argv[1]).read())
assert d["data"]["statusId"] == "7f3e2d1c-0b9a-4876-9543-210fedcba987", d
' "$T/out"
W --json list --state pending_create
expect "an updated new record stays pending_create" "$(nlines)" 4

echo '[{"op":"replace","path":"/meta/createdBy","value":"'"$USER2"'"}]' >"$T/p-meta.json"
W update "$R1" "$T/p-meta.json"
check "update of meta is refused" 2
echo '[{"op":"replace","path":"/customerId","value":"'"$CUST"'"}]' >"$T/p-cust.json"
W update "$R1" "$T/p-cust.json"
check "update of customerId is refused" 2
W --json get "$R1"
py "refused updates left the envelope alone" '
import json, sys
d = json.loads(open(sys.argv[1]).read())
assert d["meta"]["createdBy"] == sys.argv[2], d
assert "customerId" not in d["data"] and "meta" not in d["data"], d
' "$T/out" "$USER"
echo '[{"op":"replace","path":"/timestamp","value":"2019-02-30T00:00:00.000Z"}]' >"$T/p-ts.json"
W update "$R1" "$T/p-ts.json"
check "update to an impossible timestamp" 2 "timestamp"
echo '[{"op":"test","path":"/successful","value":true},{"op":"replace","path":"/unavailable","value":false}]' \
    >"$T/p-test.json"
W update "$R1" "$T/p-test.json"
check "update with a failing test op" 2
expect "a failed patch applies nothing" "$(field "$R1" unavailable)" true
echo 'not a patch' >"$T/p-junk.json"
W update "$R1" "$T/p-junk.json"
check "update with a non-JSON patch" 2
echo '[{"op":"frobnicate","path":"/successful"}]' >"$T/p-op.json"
W update "$R1" "$T/p-op.json"
check "update with an unknown op" 2
W update "$UNKNOWN_ID" "$T/p-rel.json"
check "update of an unknown id" 3

# ---- delete ------------------------------------------------------------------------

W delete "$R4"
check "delete" 0
W get "$R4"
check "get after delete" 3
W get --deleted "$R4"
check "get --deleted after delete" 0
W delete "$R4"
check "delete again" 3
W delete "$UNKNOWN_ID"
check "delete of an unknown id" 3
W update "$R4" "$T/p-rel.json"
case $RC in
3 | 6) pass ;;
*) fail "update of a deleted record: exit $RC, want 3 or 6" ;;
esac
W --json list
expect "list after delete" "$(nlines)" 3
W --json list --deleted
expect "list --deleted shows the tombstone" "$(nlines)" 4
py "list --deleted marks the tombstone" '
import json, sys
dead = [json.loads(l)["id"] for l in open(sys.argv[1]) if json.loads(l)["meta"]["isDeleted"]]
assert dead == [sys.argv[2]], dead
' "$T/out" "$R4"
W --json list --deleted-only
expect "list --deleted-only" "$(nlines)" 1
W list --deleted
grep "$R4" "$T/out" | grep -q " yes$" && pass || fail "list --deleted table: $(grep "$R4" "$T/out")"
W --json status
py "status after a delete" '
import json, sys
i = json.loads(open(sys.argv[1]).read())["interactions"]
assert i["live"] == 3 and i["tombstones"] == 1 and i["total"] == 4, i
assert i["pendingCreate"] == 3, i
' "$T/out"
W status
check "status" 0
grep -q "pending_create  *3" "$T/out" && pass || fail "status text: $(cat "$T/out")"
grep -q "1 tombstones" "$T/out" && pass || fail "status text lacks tombstones: $(cat "$T/out")"
grep -q "schema version" "$T/out" && pass || fail "status text lacks the schema version"

# ---- export ------------------------------------------------------------------------

W export --format ndjson
check "export ndjson" 0
expect "export ndjson has one line per live record" "$(nlines)" 3
py "export ndjson lines are JSON" "$PY_NDJSON" "$T/out"
W export --format ndjson --deleted
expect "export --deleted includes tombstones" "$(nlines)" 4
W export --format ndjson --campaign "$CAMP_A"
expect "export --campaign filters" "$(nlines)" 2

W export --format csv
check "export csv" 0
head -n 1 "$T/out" | grep -qx $'id,timestamp,campaignId,contactId,householdId,contactHouseholdId,walklistId,statusId,unavailable,unavailableReason,successful,distance,lat,lng,confidence,surveyId,responses,created,modified,createdBy,modifiedBy,isDeleted\r' &&
    pass || fail "csv header: $(head -n 1 "$T/out")"
grep -qF '"'"'"'=1+2, ""quoted"""' "$T/out" && pass ||
    fail "csv cell with a formula, comma and quotes is not quoted and guarded: $(grep "$R3" "$T/out")"
grep -qF ",33.43174362182617,-84.18405151367188,0," "$T/out" && pass ||
    fail "csv numbers are not written plain: $(grep "$R1" "$T/out")"
py "export csv parses" '
import csv, json, sys
rows = list(csv.reader(open(sys.argv[1], newline="")))
assert len(rows) == 4, len(rows)
head = rows[0]
assert all(len(r) == len(head) == 22 for r in rows), [len(r) for r in rows]
by_id = {r[0]: dict(zip(head, r)) for r in rows[1:]}
r1, r3 = by_id[sys.argv[2]], by_id[sys.argv[3]]
assert r1["campaignId"] == "61fbfbaa-5de8-4d17-ac2b-c47f2376265a", r1
assert r1["unavailableReason"] == "Come Back", r1
assert r1["lng"] == "-84.18405151367188" and r1["lat"] == "33.43174362182617", r1
assert r1["unavailable"] == "true" and r1["successful"] == "false", r1
assert r1["isDeleted"] == "false", r1
resp = json.loads(r1["responses"])
assert resp["f386f88a-61f1-4f0d-b3d9-ba97e8238444"]["fields"]["dogliker"] == "true", resp
assert r1["surveyId"] == "375d437b-3b47-4940-b43d-be8daec4afff", r1
assert r3["unavailableReason"] == "\x27=1+2, \"quoted\"", r3
assert r3["walklistId"] == "5b0e9a52-3c1f-4d7e-9a8b-2f6c1d0e4a71", r3
assert r3["lat"] == "" and r3["distance"] == "", r3
assert r3["createdBy"] == "0651e380-d556-49bd-acdd-2bd813b16430", r3
' "$T/out" "$R1" "$R3"
W export --format csv --deleted
py "export csv guards a cell starting with @" '
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1], newline="")))
r4 = [r for r in rows if r["id"] == sys.argv[2]][0]
assert r4["unavailableReason"] == "\x27@home", r4
assert r4["isDeleted"] == "true", r4
assert r4["lat"] == "-33.8688", r4
' "$T/out" "$R4"

W export --format geojson --deleted
check "export geojson" 0
grep -q "1 record without a location" "$T/err" && pass ||
    fail "geojson does not count the record without a location: $(cat "$T/err")"
py "export geojson" '
import json, sys
d = json.loads(open(sys.argv[1]).read())
assert d["type"] == "FeatureCollection", d
fs = {f["properties"]["id"]: f for f in d["features"]}
assert set(fs) == {sys.argv[2], sys.argv[3], sys.argv[4]}, fs.keys()
for f in fs.values():
    assert f["type"] == "Feature" and f["geometry"]["type"] == "Point", f
    assert set(f["properties"]) == {"id", "timestamp", "campaignId", "contactId",
        "householdId", "successful", "unavailable", "distance", "accuracy", "fixTime",
        "distanceMetres", "signals", "warnings"}, f["properties"]
assert fs[sys.argv[2]]["geometry"]["coordinates"] == [-84.18405151367188, 33.43174362182617]
assert fs[sys.argv[3]]["geometry"]["coordinates"] == [-118.3530776, 34.0687112]
assert fs[sys.argv[4]]["geometry"]["coordinates"] == [151.2093, -33.8688]
assert fs[sys.argv[4]]["properties"]["successful"] is True
assert fs[sys.argv[3]]["properties"]["householdId"] is None
assert fs[sys.argv[2]]["properties"]["timestamp"] == "2018-07-17T18:40:53.526Z"
' "$T/out" "$R1" "$R2" "$R4"
W export --format geojson --campaign "$CAMP_NONE"
check "export geojson of nothing" 0
py "an empty geojson export is valid" '
import json, sys
d = json.loads(open(sys.argv[1]).read())
assert d == {"type": "FeatureCollection", "features": []}, d
' "$T/out"

mkdir "$T/exp"
W export --format csv --out "$T/exp/records.csv"
check "export --out" 0
expect "export --out writes nothing to stdout" "$(wc -c <"$T/out")" 0
expect "export --out leaves only the file" "$(ls -A "$T/exp")" records.csv
expect "export --out file has a header and three rows" "$(grep -c . "$T/exp/records.csv")" 4
W export --format ndjson --out "$T/exp/records.csv"
check "export --out over an existing file" 0
expect "export --out replaced the file" "$(grep -c . "$T/exp/records.csv")" 3
expect "export --out still leaves only the file" "$(ls -A "$T/exp")" records.csv
W export --format ndjson --out "$T/exp/no/such/dir/records.ndjson"
check "export --out into a missing directory" 10
expect "a failed export leaves nothing behind" "$(ls -A "$T/exp")" records.csv
W export --format ndjson --out "$T/exp/"
check "export --out naming a directory" 1

# ---- record --batch (a store of its own) ----------------------------------------

BDB=$T/batch.db
run --db "$BDB" init --customer "$CUST" --user "$USER"
check "init of the batch store" 0
{
    body "$CAMP_A" "$CONTACT_1" 2019-03-01T00:00:00.000Z
    echo
    body "$CAMP_B" "$CONTACT_2" 2019-03-02T00:00:00.000Z
    body "$CAMP_A" "$CONTACT_2" 2019-03-03T00:00:00.000Z
} >"$T/batch.ndjson"
run --db "$BDB" record --batch "$T/batch.ndjson"
check "record --batch NDJSON" 0
expect "record --batch prints one id per record" "$(nlines)" 3
{
    echo '['
    body "$CAMP_A" "$CONTACT_1" 2019-04-01T00:00:00.000Z
    echo ','
    cat "$DATA/interaction-v1-create-request.json"
    echo ']'
} >"$T/batch-array.json"
IN=$T/batch-array.json run --db "$BDB" --json record --batch
check "record --batch of a JSON array from stdin" 0
py "record --batch --json prints envelopes" "$PY_NDJSON" "$T/out"
expect "record --batch --json prints two lines" "$(nlines)" 2
{
    body "$CAMP_A" "$CONTACT_1" 2019-05-01T00:00:00.000Z
    body "$CAMP_A" "$CONTACT_1" 2019-05-32T00:00:00.000Z
} >"$T/batch-bad.ndjson"
run --db "$BDB" record --batch "$T/batch-bad.ndjson"
check "record --batch with a bad second record" 2 "records[1]"
run --db "$BDB" list --count
expect "a refused batch records nothing" "$(cat "$T/out")" 5
printf '\n \n' >"$T/batch-empty.ndjson"
run --db "$BDB" record --batch "$T/batch-empty.ndjson"
check "record --batch of nothing" 2 "no record"
echo '[]' >"$T/batch-empty.json"
run --db "$BDB" record --batch "$T/batch-empty.json"
check "record --batch of an empty array" 2 "no record"

# ---- more ways to name the store and to ask for JSON --------------------------------

mkdir "$T/cwd"
(cd "$T/cwd" && "$WB" init --customer "$CUST" --user "$USER" >/dev/null 2>&1)
[ -f "$T/cwd/walkbook.db" ] && pass || fail "the default store is not ./walkbook.db"
run --db="$BDB" list --json --campaign "$CAMP_B"
check "--db=PATH and --json after the command" 0
expect "--db=PATH and --json after the command" "$(nlines)" 2
py "--json after the command prints JSON" "$PY_NDJSON" "$T/out"
printf '{"campaignId":"%s"\0}' "$CAMP_A" >"$T/nul.json"
run --db "$BDB" record "$T/nul.json"
check "record with a NUL byte" 2 "NUL"
run --db "$BDB" list --limit 1 --json
R5=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$T/out")
run --db "$BDB" --json delete "$R5"
check "delete --json" 0
py "delete --json prints the tombstone" '
import json, sys
d = json.loads(open(sys.argv[1]).read())
assert d["id"] == sys.argv[2] and d["meta"]["isDeleted"] is True, d
' "$T/out" "$R5"
run --db "$BDB" get --json --deleted "$R5"
check "get --json --deleted of a tombstone" 0
expect "get --json --deleted prints one line" "$(nlines)" 1

# ---- conflicts ---------------------------------------------------------------------
# A sync parks conflicts; until `walkbook sync` exists here, the test parks one
# the way the engine does (state conflict, the server's envelope, the paths).
# The library side of parking and resolving is tested in test_core_syncstore.

CDB=$T/conflicts.db
C() { run --db "$CDB" "$@"; }
C init --customer "$CUST" --user "$USER" --security-group "$SG"
check "conflicts: init" 0
body "$CAMP_A" "$CONTACT_1" "2020-03-01T10:00:00.000Z" '"successful":false' >"$T/c1.json"
C record "$T/c1.json"
check "conflicts: record 1" 0
CID1=$(cat "$T/out")
C record "$T/c1.json"
check "conflicts: record 2" 0
CID2=$(cat "$T/out")
C record "$T/c1.json"
check "conflicts: record 3" 0
CID3=$(cat "$T/out")
park() {
    python3 - "$CDB" "$1" "$CUST" "$SG" <<'PYEOF'
import json, sqlite3, sys
db, lid, cust, sg = sys.argv[1:5]
c = sqlite3.connect(db)
(data,) = c.execute("SELECT data FROM interactions WHERE local_id = ?", (lid,)).fetchone()
remote = json.loads(data)
remote["successful"] = True
env = {"id": lid, "data": remote, "meta": {"etag": "srv-2", "created": "2020-03-01T10:00:01.000Z",
       "modified": "2020-03-01T10:05:00.000Z", "resource": "interactions",
       "createdBy": "0651e380-d556-49bd-acdd-2bd813b16430", "isDeleted": False,
       "modifiedBy": "9b2d3c4e-5f60-4a7b-8c9d-0e1f2a3b4c5d"},
       "customerId": cust, "securityGroupId": sg}
paths = [{"path": "/successful", "local": False, "remote": True}]
# The common ancestor had no answer; the phone said false, the server true.
base = json.loads(data)
del base["successful"]
c.execute("UPDATE interactions SET state = 16, server_id = local_id, base = ?, base_etag = 'srv-1',"
          " conflict_remote = ?, conflict_paths = ? WHERE local_id = ?",
          (json.dumps(base, separators=(",", ":")), json.dumps(env, separators=(",", ":")),
           json.dumps(paths, separators=(",", ":")), lid))
c.commit()
PYEOF
}
park "$CID1"
park "$CID2"
park "$CID3"
C conflicts
check "conflicts list" 0
expect "conflicts list shows 3 and a header" "$(nlines)" 4
py "conflicts list names the field" 'import sys; assert "/successful" in open(sys.argv[1]).read()' "$T/out"
C --json conflicts list
check "conflicts list --json" 0
py "conflicts list --json is NDJSON" "$PY_NDJSON" "$T/out"
C conflicts show "$CID1"
check "conflicts show" 0
py "conflicts show has local, remote and paths" '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["local"]["successful"] is False and d["remote"]["data"]["successful"] is True
assert d["paths"][0]["path"] == "/successful"
' "$T/out"
C conflicts show "$UNKNOWN_ID"
check "conflicts show of a record not in conflict" 3 "not in conflict"
C conflicts show
check "conflicts show without an id" 1 "ID"
C conflicts resolve "$CID1"
check "conflicts resolve without --take" 1 "--take"
C conflicts frobnicate
check "conflicts unknown action" 1 "frobnicate"
C conflicts resolve "$CID1" --take remote
check "conflicts resolve --take remote" 0
C --json get "$CID1"
py "remote version taken" 'import json,sys; assert json.load(open(sys.argv[1]))["data"]["successful"] is True' "$T/out"
C conflicts resolve "$CID2" --take local
check "conflicts resolve --take local" 0
C --json list --state pending_update
py "local version pending as an update" '
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
assert len(rows) == 1 and rows[0]["data"]["successful"] is False, rows
' "$T/out"
body "$CAMP_A" "$CONTACT_1" "not-a-time" >"$T/bad.json"
C conflicts resolve "$CID3" --take "$T/bad.json"
check "conflicts resolve with an invalid document" 2 "timestamp"
body "$CAMP_A" "$CONTACT_1" "2020-03-01T11:11:11.000Z" '"successful":true' >"$T/doc.json"
IN=$T/doc.json
C conflicts resolve "$CID3" --take -
check "conflicts resolve with a document on stdin" 0
IN=/dev/null
C --json get "$CID3"
py "document taken" 'import json,sys; assert json.load(open(sys.argv[1]))["data"]["timestamp"] == "2020-03-01T11:11:11.000Z"' "$T/out"
C conflicts
expect "no conflicts left" "$(nlines)" 1

# ---- sync against walkbook-server on 127.0.0.1 ------------------------------------

SERVER=${3-}
if [ -n "$SERVER" ] && [ -x "$SERVER" ]; then
    SC=de300000-0000-4000-8000-000000000001
    SG2=de300000-0000-4000-8000-000000000002
    SU=de300000-0000-4000-8000-000000000004
    "$SERVER" --port 0 --port-file "$T/port" --token "cli-token:$SC:$SG2:$SU:canvasser" \
        --admin cli-admin 2>"$T/server.log" &
    SERVER_PID=$!
    for _ in $(seq 100); do [ -s "$T/port" ] && break; sleep 0.05; done
    PORT=$(cat "$T/port" 2>/dev/null || echo 1)
    SDB=$T/sync.db
    S() { run --db "$SDB" "$@"; }
    S init --customer "$SC" --user "$SU" --security-group "$SG2"
    check "sync: init" 0
    body "$CAMP_A" "$CONTACT_1" "2020-04-01T10:00:00.000Z" >"$T/s1.json"
    S record "$T/s1.json"
    check "sync: record" 0
    SID=$(cat "$T/out")
    S sync --token cli-token
    check "sync without --server" 1 "--server"
    S sync --server "http://127.0.0.1:$PORT"
    check "sync without a token" 1 "token"
    S sync --server "http://127.0.0.1:$PORT" --token cli-token --policy sideways
    check "sync with an unknown policy" 1 "--policy"
    S sync --server "http://127.0.0.1:$PORT" --token wrong-token
    check "sync with a token the server refuses" 8
    py "the refused token is not echoed" 'import sys; assert "wrong-token" not in open(sys.argv[1]).read()' "$T/err"
    S sync --server "http://127.0.0.1:$PORT" --token cli-token
    check "sync" 0
    expect "no progress bar when stderr is not a terminal" "$(wc -c <"$T/err")" 0
    py "sync prints a one-line summary" '
import sys
out = open(sys.argv[1]).read().splitlines()
assert len(out) == 1 and "pushed 1 created" in out[0] and "0 not synced" in out[0], out
' "$T/out"
    S --json status
    py "everything synced after sync" 'import json,sys; d=json.load(open(sys.argv[1]))["interactions"]; assert d["synced"] == 1 and d["pendingCreate"] == 0, d' "$T/out"
    # A second device of the same canvasser pulls the record.
    S2() { run --db "$T/sync2.db" "$@"; }
    S2 init --customer "$SC" --user "$SU" --security-group "$SG2"
    WALKBOOK_TOKEN=cli-token S2 --json sync --server "http://127.0.0.1:$PORT"
    check "sync with WALKBOOK_TOKEN and --json" 0
    py "sync --json prints the report" 'import json,sys; r=json.load(open(sys.argv[1])); assert r["pulled"]["inserted"] == 1, r' "$T/out"
    S2 --json list
    expect "the second device has the record" "$(nlines)" 1
    # The pulled copy's id is the server's: a manager answers a question
    # there while the phone answers it differently; --policy manual parks
    # the record (exit 7) and the summary says so.
    SRVID=$(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["id"])' "$T/out")
    Q=9826940d-76a8-4700-8c92-5743ce7bb728
    answer() { printf '[{"op":"add","path":"/survey/responses/%s","value":{"questionId":"%s","fields":{"answer":"%s"}}}]' "$Q" "$Q" "$1"; }
    py "a manager edits the record on the server" '
import sys, urllib.request
req = urllib.request.Request("http://127.0.0.1:%s/__admin/interactions/%s/edit" % (sys.argv[1], sys.argv[2]),
    data=("{\"data\":%s}" % sys.argv[3]).encode(),
    headers={"X-Admin-Token": "cli-admin", "Content-Type": "application/json"}, method="POST")
assert urllib.request.urlopen(req, timeout=5).status == 200
' "$PORT" "$SRVID" "$(answer manager)"
    answer canvasser >"$T/s-patch.json"
    S update "$SID" "$T/s-patch.json"
    check "sync: a local edit" 0
    S sync --server "http://127.0.0.1:$PORT" --token cli-token --policy manual
    check "sync leaving a conflict exits 7" 7 "not synced"
    py "the summary counts the conflict once" '
import sys
out = open(sys.argv[1]).read().splitlines()
assert len(out) == 1 and "1 conflicts" in out[0] and "1 not synced" in out[0], out
' "$T/out"
    S conflicts
    expect "conflicts lists the parked record (and a header)" "$(nlines)" 2
    S conflicts resolve "$SID" --take remote
    check "sync: resolve with the server's side" 0
    S sync --server "http://127.0.0.1:$PORT" --token cli-token
    check "sync after resolving exits 0" 0
    # On a terminal, a progress bar goes to stderr.
    if command -v script >/dev/null 2>&1; then
        body "$CAMP_A" "$CONTACT_1" "2020-04-01T10:05:00.000Z" >"$T/s2.json"
        S record "$T/s2.json"
        script -qec "\"$WB\" --db \"$SDB\" sync --server http://127.0.0.1:$PORT --token cli-token" /dev/null \
            </dev/null >"$T/tty" 2>&1
        RC=$?
        check "sync on a terminal" 0
        grep -q 'push \[##############################\] 1/1' "$T/tty" && pass ||
            fail "no progress bar on a terminal: $(head -c 300 "$T/tty")"
    fi
    # A canvasser cannot delete on the server (403): the record stays, rejected.
    S delete "$SID"
    S sync --server "http://127.0.0.1:$PORT" --token cli-token
    check "sync with a refused delete exits 7" 7
    S list --deleted --state rejected
    expect "the refused delete is kept as rejected" "$(nlines)" 2
    # --send-signatures: this server was started without --accept-signatures
    # and refuses the member; one started with it verifies the signature.
    G() { run --db "$T/sig.db" "$@"; }
    G init --customer "$SC" --user "$SU" --security-group "$SG2"
    G record "$T/s1.json"
    G sync --server "http://127.0.0.1:$PORT" --token cli-token --send-signatures
    check "sync --send-signatures to a server that does not accept them exits 7" 7
    G --json list --state rejected
    expect "the signed create is kept as rejected" "$(nlines)" 1
    "$SERVER" --port 0 --port-file "$T/port2" --token "cli-token:$SC:$SG2:$SU:canvasser" \
        --admin cli-admin --accept-signatures 2>"$T/server2.log" &
    SERVER2_PID=$!
    for _ in $(seq 100); do [ -s "$T/port2" ] && break; sleep 0.05; done
    PORT2=$(cat "$T/port2" 2>/dev/null || echo 1)
    G2() { run --db "$T/sig2.db" "$@"; }
    G2 init --customer "$SC" --user "$SU" --security-group "$SG2"
    G2 record "$T/s1.json"
    G2 sync --server "http://127.0.0.1:$PORT2" --token cli-token --send-signatures
    check "sync --send-signatures" 0
    G2 --json verify
    PK=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["publicKey"])' "$T/out")
    py "the server verified the signed create under the store's key" '
import json, sys, urllib.request
req = urllib.request.Request("http://127.0.0.1:%s/__admin/signatures" % sys.argv[1],
    headers={"X-Admin-Token": "cli-admin"})
r = json.load(urllib.request.urlopen(req, timeout=5))
assert [x["status"] for x in r["records"]] == ["verified"], r
assert r["devices"][0]["publicKey"] == sys.argv[2] and r["devices"][0]["ok"], r
' "$PORT2" "$PK"
    kill "$SERVER2_PID" 2>/dev/null
    wait "$SERVER2_PID" 2>/dev/null
    # --parallel N: a device's records pushed on N connections.
    P() { run --db "$T/sync-par.db" "$@"; }
    P init --customer "$SC" --user "$SU" --security-group "$SG2"
    for i in 1 2 3 4 5; do
        body "$CAMP_A" "$CONTACT_2" "2020-04-0${i}T11:00:00.000Z" >"$T/p$i.json"
        P record "$T/p$i.json"
    done
    P sync --server "http://127.0.0.1:$PORT" --token cli-token --parallel 0
    check "sync --parallel 0 is refused" 1 "--parallel"
    P sync --server "http://127.0.0.1:$PORT" --token cli-token --parallel 3
    check "sync --parallel 3" 0
    py "sync --parallel pushed every record once" '
import sys
out = open(sys.argv[1]).read()
assert "pushed 5 created" in out and "0 not synced" in out, out
' "$T/out"
    P --json status
    py "everything synced after sync --parallel" 'import json,sys; d=json.load(open(sys.argv[1]))["interactions"]; assert d["synced"] == d["total"] and d["total"] >= 5 and d["pendingCreate"] == 0, d' "$T/out"
    kill "$SERVER_PID" 2>/dev/null
    wait "$SERVER_PID" 2>/dev/null
    S sync --server "http://127.0.0.1:$PORT" --token cli-token
    check "sync with the server gone" 9
else
    echo "skip: sync tests (no walkbook-server binary)"
fi

# ---- a busy store ----------------------------------------------------------------

python3 - "$DB" "$T/locked" <<'EOF' &
import os, sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("BEGIN IMMEDIATE")
open(sys.argv[2], "w").close()
time.sleep(10)
EOF
LOCKER=$!
for _ in $(seq 100); do
    [ -e "$T/locked" ] && break
    sleep 0.1
done
W --busy-timeout 100 record "$T/r3.json"
check "record while another writer holds the store" 5
kill "$LOCKER" 2>/dev/null
wait "$LOCKER" 2>/dev/null
W --json list
expect "nothing was recorded while busy" "$(nlines)" 3

# ---- done --------------------------------------------------------------------------

echo "$PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
