#!/usr/bin/env bash
# test_cli_crypt.sh - the CLI on encrypted stores: init --encrypt, the
# passphrase from a file, the environment or nowhere (refused, saying why),
# a wrong one, rekey, encrypt and decrypt of a store that holds records,
# verify catching an edited record and an unsigned tail, and no personal
# value in the files.
#
# usage: test_cli_crypt.sh WALKBOOK_BINARY
set -u
WB=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
T=$(mktemp -d "${TMPDIR:-/tmp}/walkbook-crypt.XXXXXX") || exit 2
trap 'rm -rf "$T"' EXIT
unset WALKBOOK_DB WALKBOOK_PASSPHRASE WALKBOOK_NEW_PASSPHRASE
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}exitcode=99"

PASS=0
FAIL=0
# t DESC WANT_RC [STDERR_SUBSTRING] -- ARGS...: run walkbook (stdin not a
# terminal), check its exit code and stderr.
t() {
    local desc=$1 want=$2 pat=$3
    shift 4
    "$WB" "$@" </dev/null >"$T/out" 2>"$T/err"
    local rc=$?
    if [ "$rc" -ne "$want" ]; then
        FAIL=$((FAIL + 1)); echo "FAIL: $desc: exit $rc, want $want: $(head -c 300 "$T/err")"
    elif [ -n "$pat" ] && ! grep -q -- "$pat" "$T/err"; then
        FAIL=$((FAIL + 1)); echo "FAIL: $desc: stderr lacks '$pat': $(head -c 300 "$T/err")"
    else
        PASS=$((PASS + 1)); echo "ok   $desc"
    fi
}
no_value() {
    if grep -qa -- "$2" "$DB" "$DB-wal" 2>/dev/null; then
        FAIL=$((FAIL + 1)); echo "FAIL: $1: '$2' found in the store files"
    else
        PASS=$((PASS + 1)); echo "ok   $1"
    fi
}

CUST=cfa8df1b-baf1-446b-b06c-3177063faed7
USER=0651e380-d556-49bd-acdd-2bd813b16430
DB=$T/enc.db
printf 'a long passphrase\n' >"$T/pass"
printf 'another passphrase\n' >"$T/new"
printf 'not it\n' >"$T/wrong"
cat >"$T/r.json" <<JSON
{"campaignId":"61fbfbaa-5de8-4d17-ac2b-c47f2376265a","contactId":"0478dbbf-b6eb-4168-afa9-5ebab6fef4b6","timestamp":"2024-05-01T10:00:00.000Z","unavailable":true,"unavailableReason":"Moved-Away-Quixotically","survey":{"surveyId":"375d437b-3b47-4940-b43d-be8daec4afff","responses":{}},"location":{"lat":47.6543219,"lng":-122.30123}}
JSON

t "init --encrypt without a passphrase is refused" 11 "passphrase" -- \
    --db "$DB" init --customer $CUST --user $USER --encrypt
t "init --encrypt with --passphrase-file" 0 "" -- \
    --db "$DB" --passphrase-file "$T/pass" init --customer $CUST --user $USER --encrypt
grep -q encrypted "$T/out" && PASS=$((PASS + 1)) || { FAIL=$((FAIL + 1)); echo "FAIL: init does not say encrypted"; }
t "record with the passphrase from a file (after the command)" 0 "" -- \
    --db "$DB" record "$T/r.json" --passphrase-file "$T/pass"
WALKBOOK_PASSPHRASE="a long passphrase" t "record with WALKBOOK_PASSPHRASE" 0 "" -- \
    --db "$DB" record "$T/r.json"
WALKBOOK_PASSPHRASE='a long passphrase' t "list with WALKBOOK_PASSPHRASE" 0 "" -- --db "$DB" --json list
grep -q Moved-Away-Quixotically "$T/out" && PASS=$((PASS + 1)) || { FAIL=$((FAIL + 1)); echo "FAIL: list lacks the record"; }
t "no passphrase: refused, saying why" 11 "the store is encrypted" -- --db "$DB" list
t "wrong passphrase" 11 "wrong passphrase" -- --db "$DB" --passphrase-file "$T/wrong" list
t "missing passphrase file" 1 "--passphrase-file" -- --db "$DB" --passphrase-file "$T/nope" list
no_value "no unavailable reason in the files" Moved-Away-Quixotically
no_value "no latitude in the files" 47.6543219
no_value "no passphrase in the files" "a long passphrase"
t "verify an intact log" 0 "" -- --db "$DB" --passphrase-file "$T/pass" verify
grep -q "2 entries" "$T/out" && PASS=$((PASS + 1)) || { FAIL=$((FAIL + 1)); echo "FAIL: verify output: $(cat "$T/out")"; }
t "rekey without a new passphrase" 11 "new passphrase" -- --db "$DB" --passphrase-file "$T/pass" rekey
t "rekey" 0 "" -- --db "$DB" --passphrase-file "$T/pass" rekey --new-passphrase-file "$T/new"
t "the old passphrase no longer opens it" 11 "wrong passphrase" -- --db "$DB" --passphrase-file "$T/pass" list
WALKBOOK_PASSPHRASE='another passphrase' t "the new one does" 0 "" -- --db "$DB" --json list
[ "$(grep -c Moved-Away "$T/out")" = 2 ] && PASS=$((PASS + 1)) || { FAIL=$((FAIL + 1)); echo "FAIL: records after rekey"; }

# A plain store: a passphrase in the environment is not needed and not used.
P=$T/plain.db
WALKBOOK_PASSPHRASE=x t "plain store with WALKBOOK_PASSPHRASE set" 0 "" -- --db "$P" init --customer $CUST --user $USER
t "record in the plain store" 0 "" -- --db "$P" record "$T/r.json"
t "verify the plain store" 0 "" -- --db "$P" verify
python3 - "$P" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.execute("UPDATE interactions SET data = json_set(data, '$.unavailable', json('false'))")
db.commit()
PY
t "verify catches an edited record" 12 "edited" -- --db "$P" verify
# A log whose last entry lost its signature: nothing after it covers the
# entries before (schema 009 lets only covered entries go unsigned).
U=$T/tail.db
t "init a store for the unsigned tail" 0 "" -- --db "$U" init --customer $CUST --user $USER
t "record 1 of 2" 0 "" -- --db "$U" record "$T/r.json"
t "record 2 of 2" 0 "" -- --db "$U" record "$T/r.json"
t "verify before the signature is removed" 0 "" -- --db "$U" verify
python3 - "$U" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.execute("UPDATE interaction_log SET signature = NULL WHERE seq = 2")
db.commit()
PY
t "verify reports an unsigned tail" 12 "no later signed entry covers it" -- --db "$U" verify
grep -q "entry 2" "$T/err" && PASS=$((PASS + 1)) || { FAIL=$((FAIL + 1)); echo "FAIL: unsigned tail not at entry 2: $(cat "$T/err")"; }

# Encrypting a plain store that holds records, and back.
E=$T/later.db
DB=$E
t "init a plain store" 0 "" -- --db "$E" init --customer $CUST --user $USER
for i in 1 2 3; do
    t "record $i in clear" 0 "" -- --db "$E" record "$T/r.json"
done
t "rekey refuses a plain store with records, naming encrypt" 11 "encrypt" -- \
    --db "$E" rekey --new-passphrase-file "$T/new"
if grep -qa Moved-Away-Quixotically "$E" "$E-wal" 2>/dev/null; then
    PASS=$((PASS + 1)); echo "ok   the plain store holds the value in clear"
else
    FAIL=$((FAIL + 1)); echo "FAIL: the scan does not find the value in the plain store"
fi
t "encrypt without a passphrase is refused" 11 "passphrase" -- --db "$E" encrypt
t "encrypt" 0 "" -- --db "$E" --passphrase-file "$T/pass" encrypt
grep -q "encrypted" "$T/out" && PASS=$((PASS + 1)) || { FAIL=$((FAIL + 1)); echo "FAIL: encrypt output: $(cat "$T/out")"; }
no_value "no unavailable reason in the files after encrypt" Moved-Away-Quixotically
no_value "no latitude in the files after encrypt" 47.6543219
t "encrypt again is refused" 1 "already encrypted" -- --db "$E" --passphrase-file "$T/pass" encrypt
t "no passphrase after encrypt: refused" 11 "the store is encrypted" -- --db "$E" list
WALKBOOK_PASSPHRASE='a long passphrase' t "list after encrypt" 0 "" -- --db "$E" --json list
[ "$(grep -c Moved-Away "$T/out")" = 3 ] && PASS=$((PASS + 1)) || { FAIL=$((FAIL + 1)); echo "FAIL: records after encrypt"; }
t "verify after encrypt" 0 "" -- --db "$E" --passphrase-file "$T/pass" verify
t "decrypt with a wrong passphrase" 11 "wrong passphrase" -- --db "$E" --passphrase-file "$T/wrong" decrypt
t "decrypt" 0 "" -- --db "$E" --passphrase-file "$T/pass" --json decrypt
grep -q '"encrypted":false' "$T/out" && PASS=$((PASS + 1)) || { FAIL=$((FAIL + 1)); echo "FAIL: decrypt output: $(cat "$T/out")"; }
t "list without a passphrase after decrypt" 0 "" -- --db "$E" --json list
[ "$(grep -c Moved-Away "$T/out")" = 3 ] && PASS=$((PASS + 1)) || { FAIL=$((FAIL + 1)); echo "FAIL: records after decrypt"; }
t "decrypt a plain store is refused" 1 "not encrypted" -- --db "$E" decrypt

echo "$PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
