#!/usr/bin/env bash
# tools/demo.sh BUILD_DIR - the main job: walkbook-server runs on loopback
# with demo data (a campaign, its survey and a walk list of households in
# Cambridge MA); the canvasser's phone downloads the walk list, then, with no
# network, records door knocks in the Polis shapes, corrects one, deletes a
# mistaken one, and shows its status and exports.
set -euo pipefail

build=$1
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
polis="$root/../shared/testdata/polis"
wb="$build/tools/walkbook/walkbook"
server="$build/tools/walkbook-server/walkbook-server"
work="$build/demo"
rm -rf "$work"
mkdir -p "$work"
export WALKBOOK_DB="$work/phone.db"

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

# The demo identities of walkbook-server --seed-demo.
CUSTOMER=de300000-0000-4000-8000-000000000001
GROUP=de300000-0000-4000-8000-000000000002
CANVASSER=de300000-0000-4000-8000-000000000004
TOKEN=walkbook-demo-canvasser

say "walkbook-server on 127.0.0.1 with demo data (seed 7, 40 households)"
"$server" --port 0 --port-file "$work/port" --seed-demo --seed 7 --seed-households 40 \
  2>"$work/server.log" &
server_pid=$!
trap 'kill "$server_pid" 2>/dev/null || true' EXIT
for _ in $(seq 50); do [ -s "$work/port" ] && break; sleep 0.1; done
[ -s "$work/port" ] || { cat "$work/server.log"; echo "demo: the server did not start" >&2; exit 1; }
port=$(cat "$work/port")
echo "  listening on 127.0.0.1:$port (log: $work/server.log)"

say "The phone downloads its walk list while it still has signal"
python3 - "$port" "$TOKEN" "$work" <<'PY'
import json, sys, urllib.request
port, token, work = sys.argv[1:4]
def get(path):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}",
                                 headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.load(r)
lists = get("/v1/lists?limit=1&skip=0&sort=id&sort=ASC")["data"]
campaign = get("/v1/campaigns?limit=1&skip=0&sort=id&sort=ASC")["data"][0]
survey = get("/v1/surveys?limit=1&skip=0&sort=id&sort=ASC")["data"][0]
doors = get(f"/v1/lists/{lists[0]['id']}/contact-households?limit=4&skip=0&sort=id&sort=ASC")["data"]
print(f"  campaign '{campaign['data']['name']}', survey '{survey['data']['name']}', "
      f"walk list '{lists[0]['data']['name']}'")
q = {x["tag"]: x["questionId"] for x in survey["data"]["questions"]}
answers = [("true", "Housing", 5), ("true", "Transit", 3), ("false", None, None), ("true", "Climate", 4)]
for i, door in enumerate(doors):
    hh = door["data"]["household"]
    coords = hh["data"]["address"]["data"]["coords"]
    available, issue, support = answers[i]
    responses = {q["available"]: {"questionId": q["available"], "fields": {"available": available}}}
    if issue:
        responses[q["top_issue"]] = {"questionId": q["top_issue"], "fields": {"top_issue": issue}}
        responses[q["support"]] = {"questionId": q["support"], "fields": {"support": support}}
    body = {
        "campaignId": campaign["id"], "contactId": door["data"]["contact"]["id"],
        "householdId": hh["id"], "contactHouseholdId": door["id"],
        "walklistId": lists[0]["id"],
        "timestamp": f"2024-03-02T15:{10 + 7 * i:02d}:00.000Z",
        "unavailable": available == "false",
        "survey": {"surveyId": survey["id"], "responses": responses},
        # the phone's GPS fix, a few metres from the door
        "location": {"lat": round(coords["lat"] + 0.00004, 7), "lng": round(coords["lng"] - 0.00003, 7),
                     "confidence": 8},
    }
    if available == "false":
        body["unavailableReason"] = "Come Back"
    with open(f"{work}/knock{i}.json", "w") as f:
        json.dump(body, f)
    print(f"  door {i + 1}: {hh['data']['formattedAddress']}")
PY

say "A new store on the phone: customer, canvasser, security group"
"$wb" init --customer "$CUSTOMER" --user "$CANVASSER" --security-group "$GROUP"

say "Offline now: recording door knocks (v2 flat bodies; and a v1 wrapped one)"
ids=()
for i in 0 1 2 3; do
  ids+=("$("$wb" record "$work/knock$i.json")")
done
ids+=("$("$wb" record "$polis/interaction-v1-create-request.json")")
printf '  recorded %s\n' "${ids[@]}"

say "The canvasser corrects one answer (JSON Patch relative to data)"
printf '[{"op":"add","path":"/successful","value":true}]' | "$wb" update "${ids[1]}" -
"$wb" --json get "${ids[1]}" | python3 -c 'import json,sys; e=json.load(sys.stdin); print("  successful:", e["data"]["successful"], " modified:", e["meta"]["modified"])'

say "…and deletes a knock recorded by mistake (a soft delete: a tombstone stays)"
"$wb" delete "${ids[4]}"

say "What is on the phone"
"$wb" list

say "Status (everything waits for the sync engine, which pushes it next)"
"$wb" status

say "Export (ndjson, csv, geojson)"
"$wb" export --format ndjson --out "$work/export.ndjson"
"$wb" export --format csv --out "$work/export.csv"
"$wb" export --format geojson --out "$work/export.geojson"
wc -l "$work/export.ndjson" "$work/export.csv"
head -n 3 "$work/export.csv" | cut -c1-160
echo
echo "demo: store at $WALKBOOK_DB, exports in $work"
