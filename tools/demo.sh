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
# --admin enables the routes the demo uses to play "another user edits the
# same record on the server"; an app's server would not have them.
ADMIN=demo-admin-secret
"$server" --port 0 --port-file "$work/port" --seed-demo --seed 7 --seed-households 40 \
  --admin "$ADMIN" 2>"$work/server.log" &
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

say "Status before the sync"
"$wb" status | sed -n '/sync states/,$p'

say "Back in signal: sync (push the knocks, pull what the server has)"
"$wb" sync --server "http://127.0.0.1:$port" --token "$TOKEN"

say "Meanwhile a campaign manager changes door 1 on the server…"
server_id=$(python3 - "$port" "$TOKEN" "$ADMIN" <<'PY'
import json, sys, urllib.parse, urllib.request
port, token, admin = sys.argv[1:4]
base = f"http://127.0.0.1:{port}"
flt = urllib.parse.quote('/data/timestamp eq "2024-03-02T15:10:00.000Z"')
req = urllib.request.Request(f"{base}/v2/interactions?filter={flt}&limit=1&skip=0&sort=id&sort=ASC",
                             headers={"Authorization": f"Bearer {token}"})
rec = json.load(urllib.request.urlopen(req, timeout=10))["data"][0]
edit = {"user": "de300000-0000-4000-8000-000000000003",
        "data": [{"op": "add", "path": "/successful", "value": False},
                 {"op": "add", "path": "/statusId", "value": "de300000-0000-4000-8000-0000000000aa"}]}
req = urllib.request.Request(f"{base}/__admin/interactions/{rec['id']}/edit", method="POST",
                             data=json.dumps(edit).encode(),
                             headers={"X-Admin-Token": admin, "Content-Type": "application/json"})
urllib.request.urlopen(req, timeout=10).read()
print(rec["id"])
PY
)
echo "  server record $server_id: successful=false, statusId set (by the manager)"

say "…while the canvasser, offline again, marks the same door successful and adds a note"
printf '[{"op":"add","path":"/successful","value":true},{"op":"add","path":"/unavailableReason","value":"Talked at the gate"}]' \
  | "$wb" update "${ids[0]}" -

say "Sync with --policy manual: the field changed on both sides is parked as a conflict"
"$wb" sync --server "http://127.0.0.1:$port" --token "$TOKEN" --policy manual || echo "  (exit $?: records remain in conflict)"
"$wb" conflicts
"$wb" --json conflicts show "${ids[0]}" | python3 -c 'import json,sys; c=json.load(sys.stdin); [print("  ", p["path"], "local:", json.dumps(p.get("local")), "server:", json.dumps(p.get("remote"))) for p in c["paths"]]'

say "The canvasser keeps their answer; the next sync sends it over the manager's version"
"$wb" conflicts resolve "${ids[0]}" --take local
"$wb" sync --server "http://127.0.0.1:$port" --token "$TOKEN"
python3 - "$port" "$TOKEN" "$server_id" <<'PY'
import json, sys, urllib.request
port, token, sid = sys.argv[1:4]
req = urllib.request.Request(f"http://127.0.0.1:{port}/v2/interactions/{sid}",
                             headers={"Authorization": f"Bearer {token}"})
d = json.load(urllib.request.urlopen(req, timeout=10))["data"]
print(f"  on the server now: successful={json.dumps(d.get('successful'))}, "
      f"statusId={d.get('statusId')} (the manager's, merged), "
      f"unavailableReason={json.dumps(d.get('unavailableReason'))}")
PY

say "Status after the sync"
"$wb" status | sed -n '/sync states/,$p'

say "Export (ndjson, csv, geojson)"
"$wb" export --format ndjson --out "$work/export.ndjson"
"$wb" export --format csv --out "$work/export.csv"
"$wb" export --format geojson --out "$work/export.geojson"
wc -l "$work/export.ndjson" "$work/export.csv"
head -n 3 "$work/export.csv" | cut -c1-160
echo
echo "demo: store at $WALKBOOK_DB, exports in $work"
