/*
 * seed.c - reproducible demo data (see seed.h). A splitmix64 stream keyed
 * by (seed, kind, index) gives every id and every random choice, so no
 * record depends on how many others were made.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "common.h"
#include "etag.h"
#include "json.h"
#include "seed.h"
#include "timeutil.h"

/* Id and stream kinds: part of the reproducible output, never reorder. */
enum {
    SEED_ORG = 1,
    SEED_CAMPAIGN,
    SEED_SURVEY,
    SEED_LIST,
    SEED_STATUS,
    SEED_QUESTION,
    SEED_HOUSEHOLD,
    SEED_ADDRESS,
    SEED_CONTACT,
    SEED_CH,
    SEED_CHL,
    SEED_HH_STREAM
};

#define SEED_CENTER_LAT 42.3736
#define SEED_CENTER_LNG (-71.1097)

typedef struct seed_ctx {
    wbs_records *r;
    const wbs_seed_options *o;
    wbs_seed_summary *sum;
    int64_t base_ms;
    long tick; /* creation order: meta.created = base + tick seconds */
    int oom;
    int failed;
} seed_ctx;

static uint64_t seed__mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

static uint64_t seed__key(const seed_ctx *c, unsigned kind, uint64_t index)
{
    return seed__mix(c->o->seed ^ seed__mix(((uint64_t)kind << 48) ^ index));
}

/* The next value of a stream. */
static uint64_t seed__next(uint64_t *state)
{
    *state += 0x9e3779b97f4a7c15ULL;
    return seed__mix(*state);
}

/* Uniform in [0, n) (n small: the modulo bias is irrelevant here). */
static unsigned seed__pick(uint64_t *state, unsigned n)
{
    return (unsigned)(seed__next(state) % n);
}

/* Uniform in [-1, 1). */
static double seed__unit(uint64_t *state)
{
    return (double)(seed__next(state) >> 11) / 4503599627370496.0 - 1.0;
}

static void seed__uuid(char out[37], const seed_ctx *c, unsigned kind, uint64_t index)
{
    static const char hex[] = "0123456789abcdef";
    uint64_t st = seed__key(c, kind, index);
    uint64_t a = seed__next(&st), b = seed__next(&st);
    unsigned char bytes[16];
    size_t o = 0;

    for (int i = 0; i < 8; i++) {
        bytes[i] = (unsigned char)(a >> (56 - 8 * i));
        bytes[8 + i] = (unsigned char)(b >> (56 - 8 * i));
    }
    bytes[6] = (unsigned char)((bytes[6] & 0x0f) | 0x40); /* version 4 layout */
    bytes[8] = (unsigned char)((bytes[8] & 0x3f) | 0x80);
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out[o++] = '-';
        out[o++] = hex[bytes[i] >> 4];
        out[o++] = hex[bytes[i] & 15];
    }
    out[o] = '\0';
}

/* ---- tree building: every add goes through these, which note oom --------- */

static cJSON *seed__obj(seed_ctx *c, cJSON *parent, const char *name)
{
    cJSON *o = parent ? cJSON_AddObjectToObject(parent, name) : cJSON_CreateObject();
    if (!o)
        c->oom = 1;
    return o;
}

static cJSON *seed__arr(seed_ctx *c, cJSON *parent, const char *name)
{
    cJSON *a = cJSON_AddArrayToObject(parent, name);
    if (!a)
        c->oom = 1;
    return a;
}

static cJSON *seed__item(seed_ctx *c, cJSON *array)
{
    cJSON *o = cJSON_CreateObject();
    if (!o || !cJSON_AddItemToArray(array, o)) {
        cJSON_Delete(o);
        c->oom = 1;
        return NULL;
    }
    return o;
}

static void seed__str(seed_ctx *c, cJSON *obj, const char *name, const char *v)
{
    if (!cJSON_AddStringToObject(obj, name, v))
        c->oom = 1;
}

static void seed__num(seed_ctx *c, cJSON *obj, const char *name, double v)
{
    if (!cJSON_AddNumberToObject(obj, name, v))
        c->oom = 1;
}

static void seed__bool(seed_ctx *c, cJSON *obj, const char *name, int v)
{
    if (!cJSON_AddBoolToObject(obj, name, v))
        c->oom = 1;
}

/* Wrap data (taken) in an envelope and store it unless (customer, id)
 * exists. count >= 0 adds a top-level contactsCount (lists). */
static void seed__put(seed_ctx *c, const char *resource, const char *id, cJSON *data,
                      long count)
{
    char when[25], *text = NULL, *existing = NULL;
    cJSON *env = NULL, *meta;
    int rc;

    wb_time__format(when, c->base_ms + (int64_t)c->tick++ * 1000);
    memcpy(c->sum->last_modified, when, sizeof(when));
    if (c->oom || c->failed || !data) {
        c->oom = c->oom || !data;
        cJSON_Delete(data);
        return;
    }
    rc = wbs_records_get(&existing, c->r, resource, WBS_SEED_CUSTOMER, id);
    wb__free(existing);
    if (rc != 1) {
        c->failed = rc < 0;
        cJSON_Delete(data);
        return;
    }
    env = cJSON_CreateObject();
    if (!env || !cJSON_AddStringToObject(env, "id", id) ||
        !cJSON_AddItemToObject(env, "data", data)) {
        cJSON_Delete(data);
        cJSON_Delete(env);
        c->oom = 1;
        return;
    }
    meta = seed__obj(c, env, "meta");
    seed__str(c, meta, "etag", "");
    seed__str(c, meta, "created", when);
    seed__str(c, meta, "modified", when);
    seed__str(c, meta, "resource", resource);
    seed__str(c, meta, "createdBy", WBS_SEED_USER);
    seed__bool(c, meta, "isDeleted", 0);
    seed__str(c, meta, "modifiedBy", WBS_SEED_USER);
    seed__str(c, env, "customerId", WBS_SEED_CUSTOMER);
    seed__str(c, env, "securityGroupId", WBS_SEED_SECURITY_GROUP);
    if (count >= 0)
        seed__num(c, env, "contactsCount", (double)count);
    if (!c->oom && !(text = wbs_etag_stamp(env, NULL)))
        c->oom = 1;
    if (text && wbs_records_put(c->r, resource, WBS_SEED_CUSTOMER, id, text, when) < 0)
        c->failed = 1;
    else if (text)
        c->sum->written++;
    wb__free(text);
    cJSON_Delete(env);
}

/* ---- the records -------------------------------------------------------- */

static const struct {
    const char *name, *icon, *pin, *color, *state, *group;
} seed_statuses[] = {
    {"Not Home", "faHouse:light", "#C8C8C8", "#9E9E9E", "contacted-unavailable-not-home",
     "b9ed5a4a-8bd0-4734-98cf-78b1fe693982"},
    {"Come Back", "faClock:regular", "#F5A623", "#F5A623", "come-back",
     "c75a45d6-67cc-434c-b5b5-9a2bd2cee860"},
    {"Successful", "faCheck:solid", "#7ED321", "#7ED321", "contacted-available-successful",
     "7cba7113-f214-440d-9e2f-6f11fca47740"},
    {"Refused", "faBan:solid", "#D0021B", "#D0021B", "contacted-unavailable-other",
     "5c0d3183-c1cb-461a-ae0f-7ac2f52e6206"},
};

static void seed__statuses(seed_ctx *c)
{
    char id[37];
    for (size_t i = 0; i < sizeof(seed_statuses) / sizeof(seed_statuses[0]); i++) {
        cJSON *d = seed__obj(c, NULL, NULL);
        seed__uuid(id, c, SEED_STATUS, i);
        seed__str(c, d, "icon", seed_statuses[i].icon);
        seed__str(c, d, "name", seed_statuses[i].name);
        seed__str(c, d, "pinColor", seed_statuses[i].pin);
        seed__str(c, d, "iconColor", seed_statuses[i].color);
        seed__str(c, d, "contactState", seed_statuses[i].state);
        seed__bool(c, d, "defaultStatus", 0);
        seed__str(c, d, "statusGroupId", seed_statuses[i].group);
        seed__put(c, "statuses", id, d, -1);
    }
    c->sum->statuses = (long)(sizeof(seed_statuses) / sizeof(seed_statuses[0]));
}

static void seed__field(seed_ctx *c, cJSON *line, const char *path)
{
    cJSON *f = seed__item(c, line);
    seed__str(c, f, "path", path);
    seed__str(c, f, "type", "field");
}

static void seed__campaign(seed_ctx *c)
{
    cJSON *d = seed__obj(c, NULL, NULL), *lists, *l, *fields, *line;
    cJSON *line2;

    seed__str(c, d, "name", "Demo canvass");
    lists = seed__arr(c, d, "lists");
    l = seed__item(c, lists);
    seed__str(c, l, "type", "normal");
    seed__str(c, l, "listId", c->sum->list);
    fields = seed__arr(c, d, "fields");
    line = cJSON_CreateArray();
    if (!line || !cJSON_AddItemToArray(fields, line)) {
        cJSON_Delete(line);
        c->oom = 1;
    } else {
        seed__field(c, line, "/data/profile/name/anglican/given");
        seed__field(c, line, "/data/profile/name/anglican/surname");
    }
    line2 = cJSON_CreateArray();
    if (!line2 || !cJSON_AddItemToArray(fields, line2)) {
        cJSON_Delete(line2);
        c->oom = 1;
    } else {
        seed__field(c, line2, "/data/profile/phones/0/phone");
    }
    seed__str(c, d, "status", "started");
    seed__str(c, d, "description", "Door-to-door demo campaign in Cambridge, MA");
    seed__str(c, d, "organizationId", c->sum->organization);
    seed__put(c, "campaigns", c->sum->campaign, d, -1);
}

/* One answer option; next: the question it leads to, or NULL for end. */
static cJSON *seed__option(seed_ctx *c, cJSON *options, const char *text, const char *icon,
                           const char *value, const char *next, int success)
{
    cJSON *o = seed__item(c, options), *a;
    if (icon)
        seed__str(c, o, "icon", icon);
    seed__str(c, o, "text", text);
    if (value)
        seed__str(c, o, "value", value);
    a = seed__obj(c, o, "action");
    seed__str(c, a, "type", next ? "question" : "end");
    if (next)
        seed__str(c, a, "questionId", next);
    seed__bool(c, o, "success", success);
    return o;
}

static cJSON *seed__question(seed_ctx *c, cJSON *questions, const char *tag, const char *text,
                             const char *type)
{
    cJSON *q = seed__item(c, questions);
    seed__str(c, q, "tag", tag);
    seed__str(c, q, "text", text);
    seed__str(c, q, "type", type);
    return q;
}

static void seed__survey(seed_ctx *c)
{
    static const char *const issues[] = {"Housing", "Transit", "Schools", "Climate", "Other"};
    static const char *const faces[] = {"face-saddest", "face-sad", "face-neutral", "face-happy",
                                        "face-happiest"};
    static const char *const values[] = {"1", "2", "3", "4", "5"};
    char qid[4][37];
    cJSON *d = seed__obj(c, NULL, NULL), *qs, *q, *opts;

    for (int i = 0; i < 4; i++)
        seed__uuid(qid[i], c, SEED_QUESTION, (uint64_t)i);
    seed__str(c, d, "name", "Demo canvass survey");
    qs = seed__arr(c, d, "questions");

    q = seed__question(c, qs, "available", "Is someone available to talk?", "availability");
    opts = seed__arr(c, q, "options");
    seed__option(c, opts, "Unavailable", "no", "false", NULL, 0);
    seed__option(c, opts, "Available", "yes", "true", qid[1], 0);
    seed__bool(c, q, "required", 1);
    seed__str(c, q, "questionId", qid[0]);

    q = seed__question(c, qs, "top_issue", "Which issue matters most to you?", "multi-choice");
    opts = seed__arr(c, q, "options");
    for (size_t i = 0; i < sizeof(issues) / sizeof(issues[0]); i++)
        seed__option(c, opts, issues[i], NULL, NULL, qid[2], 0);
    seed__bool(c, q, "required", 0);
    seed__str(c, q, "questionId", qid[1]);

    q = seed__question(c, qs, "support", "How likely are you to support the measure?", "scale");
    opts = seed__arr(c, q, "options");
    for (int i = 0; i < 5; i++) {
        cJSON *o = seed__item(c, opts), *a;
        seed__str(c, o, "icon", faces[i]);
        seed__str(c, o, "value", values[i]);
        a = seed__obj(c, o, "action");
        seed__str(c, a, "type", "question");
        seed__str(c, a, "questionId", qid[3]);
        seed__bool(c, o, "success", i >= 3);
    }
    seed__bool(c, q, "required", 0);
    seed__str(c, q, "questionId", qid[2]);

    q = seed__question(c, qs, "comments", "Anything else you would like us to know?", "text");
    opts = seed__arr(c, q, "options");
    seed__option(c, opts, "Save", NULL, NULL, NULL, 0);
    seed__option(c, opts, "Skip", NULL, NULL, NULL, 0);
    seed__bool(c, q, "required", 0);
    seed__bool(c, q, "multiline", 1);
    seed__num(c, q, "max", 256);
    seed__str(c, q, "keyboard", "text");
    seed__str(c, q, "placeholder", "Comments");
    seed__str(c, q, "questionId", qid[3]);

    seed__str(c, d, "campaignId", c->sum->campaign);
    seed__bool(c, d, "discoverable", 0);
    seed__put(c, "surveys", c->sum->survey, d, -1);
}

/* Streets around Harvard Square laid out as a grid: the first six run
 * east-west, the others north-south (plausible, not a map). */
static const char *const seed_streets[] = {
    "Kirkland Street", "Cambridge Street", "Broadway",          "Harvard Street",
    "Massachusetts Avenue", "Putnam Avenue", "Ellery Street",  "Trowbridge Street",
    "Prescott Street", "Dana Street",      "Hancock Street",    "Inman Street"};
#define SEED_N_STREETS (sizeof(seed_streets) / sizeof(seed_streets[0]))

static const struct {
    const char *name;
    const char *gender;
} seed_given[] = {
    {"Olivia", "f"}, {"Liam", "m"},   {"Emma", "f"},     {"Noah", "m"},    {"Amelia", "f"},
    {"Oliver", "m"}, {"Sophia", "f"}, {"Elijah", "m"},   {"Ava", "f"},     {"Mateo", "m"},
    {"Isabella", "f"}, {"Lucas", "m"}, {"Mia", "f"},     {"Levi", "m"},    {"Harper", "f"},
    {"Ezra", "m"},   {"Luna", "f"},   {"Asher", "m"},    {"Camila", "f"},  {"James", "m"},
    {"Priya", "f"},  {"Wei", "m"},    {"Fatima", "f"},   {"Kwame", "m"},   {"Ana", "f"},
    {"Diego", "m"},  {"Mei", "f"},    {"Tomás", "m"},    {"Aisha", "f"},   {"Ravi", "m"},
    {"Sam", "n"},    {"Alex", "n"},   {"Jordan", "o"},   {"Riley", "n"},   {"Nadia", "f"},
    {"Omar", "m"},   {"Grace", "f"},  {"Henry", "m"},    {"Chloe", "f"},   {"Daniel", "m"}};
static const char *const seed_surnames[] = {
    "Smith",  "Johnson", "Nguyen", "Garcia",   "Brown",    "Silva",   "Patel",  "Kim",
    "Murphy", "O'Brien", "Chen",   "Rodriguez", "Walsh",   "Okafor",  "Santos", "Cohen",
    "Lee",    "Martin",  "Costa",  "Sullivan", "Fitzgerald", "Haddad", "Novak", "Tanaka",
    "Moreau", "Ferreira", "Kelly", "Mendes",   "Ali",      "Park",    "Rossi",  "Flynn"};

/* Coordinates in degrees rounded to 7 decimals, like the examples. */
static double seed__round7(double v)
{
    return round(v * 1e7) / 1e7;
}

static void seed__household(seed_ctx *c, uint64_t i, char hh_id[37])
{
    uint64_t st = seed__key(c, SEED_HH_STREAM, i);
    size_t street = (size_t)(i % SEED_N_STREETS);
    uint64_t k = i / SEED_N_STREETS; /* position along the street */
    int ew = street < 6, side = (int)(k & 1);
    long number = 20 + 4 * (long)(k / 2) + side;
    double lat, lng;
    char addr_id[37], num[24], unit[16] = "", formatted[160];
    const char *zip;
    cJSON *d = seed__obj(c, NULL, NULL), *addr, *ad, *co;

    if (ew) {
        lat = SEED_CENTER_LAT + (2.5 - (double)street) * 0.0018 + (side ? 0.00012 : -0.00012);
        lng = SEED_CENTER_LNG - 0.0045 + (double)k * 0.00018;
    } else {
        lat = SEED_CENTER_LAT - 0.0045 + (double)k * 0.00014;
        lng = SEED_CENTER_LNG + ((double)(street - 6) - 2.5) * 0.0024 +
              (side ? 0.00015 : -0.00015);
    }
    lat = seed__round7(lat + seed__unit(&st) * 0.00004);
    lng = seed__round7(lng + seed__unit(&st) * 0.00004);
    if (seed__pick(&st, 6) == 0)
        snprintf(unit, sizeof(unit), "Apt. %u", 1 + seed__pick(&st, 3));
    zip = lng > SEED_CENTER_LNG + 0.004 ? "02139" : lat > SEED_CENTER_LAT + 0.006 ? "02140"
                                                                                  : "02138";
    snprintf(num, sizeof(num), "%ld", number);
    if (*unit)
        snprintf(formatted, sizeof(formatted), "%s %s #%s Cambridge, USA %s", num,
                 seed_streets[street], unit, zip);
    else
        snprintf(formatted, sizeof(formatted), "%s %s Cambridge, USA %s", num,
                 seed_streets[street], zip);

    seed__uuid(hh_id, c, SEED_HOUSEHOLD, i);
    seed__uuid(addr_id, c, SEED_ADDRESS, i);
    seed__str(c, d, "unitNum", unit);
    addr = seed__obj(c, d, "address");
    seed__str(c, addr, "id", addr_id);
    ad = seed__obj(c, addr, "data");
    seed__str(c, ad, "city", "Cambridge");
    co = seed__obj(c, ad, "coords");
    seed__num(c, co, "lat", lat);
    seed__num(c, co, "lng", lng);
    seed__num(c, co, "confidence", 1);
    seed__str(c, ad, "number", num);
    seed__str(c, ad, "postalCode", zip);
    seed__str(c, ad, "streetName", seed_streets[street]);
    seed__str(c, ad, "country", "USA");
    seed__str(c, ad, "county", "Middlesex");
    seed__str(c, ad, "state", "MA");
    seed__str(c, d, "formattedAddress", formatted);
    seed__put(c, "households", hh_id, d, -1);
}

static void seed__lower_ascii(char *s)
{
    for (; *s; s++)
        if (*s >= 'A' && *s <= 'Z')
            *s = (char)(*s - 'A' + 'a');
}

/* Contact j of household i, its contact-household and its list entry. */
static void seed__contact(seed_ctx *c, uint64_t i, unsigned j, const char *hh_id,
                          uint64_t *st, unsigned *surname)
{
    uint64_t index = i * 2 + j;
    unsigned g = seed__pick(st, sizeof(seed_given) / sizeof(seed_given[0]));
    char id[37], ch_id[37], chl_id[37], email[96], phone[24], local[64];
    cJSON *d = seed__obj(c, NULL, NULL), *p, *n, *an, *arr, *e;
    size_t o = 0;

    if (j == 0 || seed__pick(st, 10) < 3)
        *surname = seed__pick(st, sizeof(seed_surnames) / sizeof(seed_surnames[0]));
    seed__uuid(id, c, SEED_CONTACT, index);
    seed__uuid(ch_id, c, SEED_CH, index);
    seed__uuid(chl_id, c, SEED_CHL, index);
    /* e-mail local part: ASCII letters of the names only */
    for (const char *s = seed_given[g].name; *s && o < 30; s++)
        if ((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z'))
            local[o++] = *s;
    local[o++] = '.';
    for (const char *s = seed_surnames[*surname]; *s && o < 60; s++)
        if ((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z'))
            local[o++] = *s;
    local[o] = '\0';
    seed__lower_ascii(local);
    snprintf(email, sizeof(email), "%s%llu@example.org", local, (unsigned long long)index);
    snprintf(phone, sizeof(phone), "(617) 555-%04u", seed__pick(st, 10000));

    seed__obj(c, d, "fields");
    seed__str(c, d, "status", "pending");
    p = seed__obj(c, d, "profile");
    seed__num(c, p, "age", 18 + seed__pick(st, 73));
    n = seed__obj(c, p, "name");
    an = seed__obj(c, n, "anglican");
    seed__str(c, an, "given", seed_given[g].name);
    seed__str(c, an, "surname", seed_surnames[*surname]);
    arr = seed__arr(c, p, "emails");
    e = seed__item(c, arr);
    seed__str(c, e, "email", email);
    seed__bool(c, e, "active", 1);
    seed__bool(c, e, "primary", 1);
    seed__str(c, p, "gender", seed_given[g].gender);
    arr = seed__arr(c, p, "phones");
    e = seed__item(c, arr);
    seed__str(c, e, "phone", phone);
    seed__bool(c, e, "active", 1);
    seed__bool(c, e, "primary", 1);
    seed__str(c, e, "phoneType", seed__pick(st, 3) ? "mobile" : "home");
    seed__str(c, d, "primaryHouseholdId", hh_id);
    seed__put(c, "contacts", id, d, -1);

    d = seed__obj(c, NULL, NULL);
    seed__str(c, d, "contactId", id);
    seed__str(c, d, "householdId", hh_id);
    seed__put(c, "contact-households", ch_id, d, -1);

    d = seed__obj(c, NULL, NULL);
    seed__str(c, d, "listId", c->sum->list);
    seed__str(c, d, "contactHouseholdId", ch_id);
    seed__put(c, "contact-household-lists", chl_id, d, -1);
    c->sum->contacts++;
}

/* Contacts per household: 1, or 2 two times in five. */
static unsigned seed__contacts_of(const seed_ctx *c, uint64_t i, uint64_t *st)
{
    *st = seed__key(c, SEED_CONTACT, i);
    return 1 + (seed__pick(st, 5) < 2);
}

int wbs_seed_tokens(wbs_auth *a, char *err, size_t errlen)
{
    static const char *const who = ":" WBS_SEED_CUSTOMER ":" WBS_SEED_SECURITY_GROUP ":";
    char spec[256];

    snprintf(spec, sizeof(spec), "%s%s%s", WBS_SEED_TOKEN, who, WBS_SEED_USER);
    if (wbs_auth_add_token(a, spec, err, errlen) < 0)
        return -1;
    snprintf(spec, sizeof(spec), "%s%s%s:canvasser", WBS_SEED_CANVASSER_TOKEN, who,
             WBS_SEED_CANVASSER);
    if (wbs_auth_add_token(a, spec, err, errlen) < 0)
        return -1;
    snprintf(spec, sizeof(spec), "%s%s%s", WBS_SEED_CODE, who, WBS_SEED_USER);
    return wbs_auth_add_code(a, spec, err, errlen);
}

int wbs_seed_demo(wbs_seed_summary *out, wbs_records *r, const wbs_seed_options *o, char *err,
                  size_t errlen)
{
    static const char *const resources[] = {"statuses", "campaigns", "surveys", "lists",
                                            "households", "contacts", "contact-households",
                                            "contact-household-lists"};
    seed_ctx c;
    long contacts = 0;

    memset(out, 0, sizeof(*out));
    memset(&c, 0, sizeof(c));
    c.r = r;
    c.o = o;
    c.sum = out;
    if (o->households < 1 || o->households > WBS_SEED_MAX_HOUSEHOLDS ||
        wb_time__parse(&c.base_ms, WBS_SEED_BASE_TIME, NULL) < 0) {
        snprintf(err, errlen, "--seed-households: from 1 to %d", WBS_SEED_MAX_HOUSEHOLDS);
        return -1;
    }
    seed__uuid(out->organization, &c, SEED_ORG, 0);
    seed__uuid(out->campaign, &c, SEED_CAMPAIGN, 0);
    seed__uuid(out->survey, &c, SEED_SURVEY, 0);
    seed__uuid(out->list, &c, SEED_LIST, 0);
    out->households = o->households;
    /* contactsCount of the list is needed before the contacts exist */
    for (long i = 0; i < o->households; i++) {
        uint64_t st;
        contacts += seed__contacts_of(&c, (uint64_t)i, &st);
    }

    wbs_records_lock(r);
    for (size_t i = 0; i < sizeof(resources) / sizeof(resources[0]); i++)
        if (wbs_records_ensure(r, resources[i]) < 0)
            c.failed = 1;
    seed__statuses(&c);
    seed__campaign(&c);
    seed__survey(&c);
    {
        cJSON *d = seed__obj(&c, NULL, NULL);
        seed__str(&c, d, "name", "Demo walk list");
        seed__str(&c, d, "organizationId", out->organization);
        seed__str(&c, d, "description", "Every seeded household");
        seed__put(&c, "lists", out->list, d, contacts);
    }
    for (long i = 0; i < o->households && !c.oom && !c.failed; i++) {
        char hh_id[37];
        uint64_t st;
        unsigned surname = 0, n = seed__contacts_of(&c, (uint64_t)i, &st);
        seed__household(&c, (uint64_t)i, hh_id);
        for (unsigned j = 0; j < n; j++)
            seed__contact(&c, (uint64_t)i, j, hh_id, &st, &surname);
    }
    /* Move the server clock past the seeded times (they are in the past,
     * but a --db file may hold anything). */
    for (size_t i = 0; i < sizeof(resources) / sizeof(resources[0]); i++)
        if (wbs_records_ensure(r, resources[i]) < 0)
            c.failed = 1;
    wbs_records_unlock(r);
    if (c.oom || c.failed) {
        snprintf(err, errlen, "--seed-demo: %s", c.oom ? "out of memory" : "storage error");
        return -1;
    }
    return 0;
}

void wbs_seed_print(FILE *f, const wbs_seed_summary *s)
{
    fprintf(f,
            "walkbook-server: demo data (%ld households, %ld contacts, %ld statuses; %ld records "
            "written)\n"
            "  token %s (admin, user %s)\n"
            "  token %s (canvasser, user %s)\n"
            "  oauth code %s\n"
            "  customer %s, security group %s\n"
            "  organization %s\n"
            "  campaign %s\n"
            "  survey %s\n"
            "  list %s\n",
            s->households, s->contacts, s->statuses, s->written, WBS_SEED_TOKEN, WBS_SEED_USER,
            WBS_SEED_CANVASSER_TOKEN, WBS_SEED_CANVASSER, WBS_SEED_CODE, WBS_SEED_CUSTOMER,
            WBS_SEED_SECURITY_GROUP, s->organization, s->campaign, s->survey, s->list);
}
