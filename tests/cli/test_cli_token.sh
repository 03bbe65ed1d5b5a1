#!/usr/bin/env bash
# test_cli_token.sh - `walkbook sync --save-token` and a sync on the saved
# token alone (no --token, no WALKBOOK_TOKEN) against walkbook-server on
# 127.0.0.1: a refused token is not kept, the kept one is sealed in an
# encrypted store (the files are scanned for it), survives rekey, and a
# plain store keeps it in clear.
#
# usage: test_cli_token.sh WALKBOOK_BINARY WALKBOOK_SERVER_BINARY
set -u
WB=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
SERVER=$2
T=$(mktemp -d "${TMPDIR:-/tmp}/walkbook-token.XXXXXX") || exit 2
SERVER_PID=
trap '[ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null; rm -rf "$T"' EXIT
unset WALKBOOK_DB WALKBOOK_PASSPHRASE WALKBOOK_NEW_PASSPHRASE WALKBOOK_TOKEN
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}exitcode=99"

PASS=0
FAIL=0
ok() { PASS=$((PASS + 1)); echo "ok   $1"; }
bad() { FAIL=$((FAIL + 1)); echo "FAIL: $1"; }
# t DESC WANT_RC [STDERR_SUBSTRING] -- ARGS...: run walkbook, check its exit
# code and stderr.
t() {
    local desc=$1 want=$2 pat=$3
    shift 4
    "$WB" "$@" </dev/null >"$T/out" 2>"$T/err"
    local rc=$?
    if [ "$rc" -ne "$want" ]; then
        bad "$desc: exit $rc, want $want: $(head -c 300 "$T/err")"
    elif [ -n "$pat" ] && ! grep -q -- "$pat" "$T/err"; then
        bad "$desc: stderr lacks '$pat': $(head -c 300 "$T/err")"
    else
        ok "$desc"
    fi
}
out_has() { grep -q -- "$2" "$T/out" && ok "$1" || bad "$1: $(head -c 300 "$T/out")"; }
# in_files DESC WANT(0|1) DB NEEDLE: does the store's file or WAL hold it?
in_files() {
    local found=0
    grep -qa -- "$4" "$3" "$3-wal" 2>/dev/null && found=1
    [ "$found" -eq "$2" ] && ok "$1" || bad "$1 (found=$found)"
}

CUST=de300000-0000-4000-8000-00000000000a
SG=de300000-0000-4000-8000-00000000000b
USER=de300000-0000-4000-8000-00000000000c
TOKEN=tok-Quixotic-Cli-77120
TOKEN2=tok-Second-Cli-44012
"$SERVER" --port 0 --port-file "$T/port" --token "$TOKEN:$CUST:$SG:$USER" \
    --token "$TOKEN2:$CUST:$SG:$USER" 2>"$T/server.log" &
SERVER_PID=$!
# Up to 10 s for the server to listen.
for _ in $(seq 200); do [ -s "$T/port" ] && break; sleep 0.05; done
if [ ! -s "$T/port" ]; then
    echo "FAIL: walkbook-server did not write its port within 10 s"; exit 1
fi
URL=http://127.0.0.1:$(cat "$T/port")

printf 'a long passphrase\n' >"$T/pass"
printf 'another passphrase\n' >"$T/new"
cat >"$T/r.json" <<JSON
{"campaignId":"61fbfbaa-5de8-4d17-ac2b-c47f2376265a","contactId":"0478dbbf-b6eb-4168-afa9-5ebab6fef4b6","timestamp":"2024-05-01T10:00:00.000Z","unavailable":true,"survey":{"surveyId":"375d437b-3b47-4940-b43d-be8daec4afff","responses":{}}}
JSON

t "--help names --save-token" 0 "" -- sync --help
out_has "--help says the saved token is used without --token" "the token saved in the store"

DB=$T/enc.db
P=(--db "$DB" --passphrase-file "$T/pass")
t "init --encrypt" 0 "" -- "${P[@]}" init --customer $CUST --user $USER --security-group $SG --encrypt
t "record" 0 "" -- "${P[@]}" record "$T/r.json"
t "sync without a token and none saved" 1 "no token is saved" -- "${P[@]}" sync --server "$URL"
t "--save-token without a token" 1 "--save-token needs" -- "${P[@]}" sync --server "$URL" --save-token
t "--save-token with a token the server refuses" 8 "" -- \
    "${P[@]}" sync --server "$URL" --token tok-Refused-Cli-1 --save-token
t "the refused token was not kept" 1 "no token is saved" -- "${P[@]}" sync --server "$URL"
in_files "the refused token is not in the files" 0 "$DB" tok-Refused-Cli-1
WALKBOOK_TOKEN=$TOKEN t "sync --save-token with WALKBOOK_TOKEN" 0 "" -- \
    "${P[@]}" sync --server "$URL" --save-token
out_has "the first sync pushed the record" "pushed 1 created"
in_files "the saved token is not in the encrypted store's files" 0 "$DB" Quixotic-Cli
t "record another" 0 "" -- "${P[@]}" record "$T/r.json"
t "sync on the saved token alone" 0 "" -- "${P[@]}" sync --server "$URL"
out_has "the saved token pushed the second record" "pushed 1 created"
t "no passphrase: the saved token cannot be read" 11 "the store is encrypted" -- \
    --db "$DB" sync --server "$URL"
t "rekey" 0 "" -- "${P[@]}" rekey --new-passphrase-file "$T/new"
t "record a third" 0 "" -- --db "$DB" --passphrase-file "$T/new" record "$T/r.json"
t "sync on the saved token after rekey" 0 "" -- --db "$DB" --passphrase-file "$T/new" \
    sync --server "$URL"
out_has "after rekey the saved token pushed the third record" "pushed 1 created"
# --token wins over the saved one, and --save-token replaces it.
t "sync --token TOKEN2 --save-token" 0 "" -- --db "$DB" --passphrase-file "$T/new" \
    sync --server "$URL" --token "$TOKEN2" --save-token
in_files "neither token is in the files" 0 "$DB" -Cli-
grep -q -- "$TOKEN" "$T/server.log" && bad "the server log quotes a token" || ok "no token in the server log"

# A plain store keeps the saved token in clear, like its other values.
PD=$T/plain.db
t "init a plain store" 0 "" -- --db "$PD" init --customer $CUST --user $USER --security-group $SG
t "plain: sync --save-token" 0 "" -- --db "$PD" sync --server "$URL" --token "$TOKEN" --save-token
in_files "plain: the token is in the file" 1 "$PD" "$TOKEN"
t "plain: sync on the saved token" 0 "" -- --db "$PD" sync --server "$URL"

echo "$PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
