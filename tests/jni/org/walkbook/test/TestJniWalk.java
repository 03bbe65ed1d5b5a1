package org.walkbook.test;

import static org.walkbook.test.Fixtures.*;
import static org.walkbook.test.Harness.*;

import org.walkbook.RecordOptions;
import org.walkbook.Store;
import org.walkbook.WalkLists;
import org.walkbook.WalkbookException;

/**
 * Walk lists offline through the Java API: reference caches, imports,
 * progress, next doors, recording with a GPS fix and its fraud signals,
 * campaign settings and the breadcrumb track, success and error paths.
 * Run with -Xcheck:jni.
 */
public final class TestJniWalk {
    private static Harness h;
    private static int files;

    static final String WL = "5c1ce5e4-a374-493e-bab2-ce7c01999e27";
    static final String HH1 = "318dd74f-b495-48a9-8b83-a16d5e784033";
    static final String HH2 = "8f14b905-efd3-4f8f-a292-211a27c5126a";
    static final String HH3 = "a1b2c3d4-0000-4000-8000-000000000003";
    static final String CONTACT = "0d8f66ce-2a6b-4caa-93f4-dd6f3996e09d";
    static final String LINK = "515cc15e-9ea3-43ca-ace1-e1ef616cdc51";
    static final String SURVEY = "de9b9879-4d2a-460a-ac16-7356517c09d6";
    static final double LAT = 42.3736, LNG = -71.1097;
    static final String MOD = "\"meta\":{\"modified\":\"2024-03-01T09:00:00.000Z\",\"isDeleted\":false}";

    private static String household(String id, double lat, double lng) {
        return "{\"id\":\"" + id + "\",\"data\":{\"unitNum\":\"\",\"address\":{\"data\":{"
            + "\"city\":\"Cambridge\",\"coords\":{\"lat\":" + lat + ",\"lng\":" + lng
            + ",\"confidence\":1}}},\"formattedAddress\":\"" + id + " Street\"}," + MOD + "}";
    }

    private static String knock(String household, String ts) {
        return "{\"campaignId\":\"" + CAMPAIGN + "\",\"contactId\":\"" + CONTACT + "\","
            + "\"householdId\":\"" + household + "\",\"walklistId\":\"" + WL + "\",\"timestamp\":\""
            + ts + "\",\"unavailable\":false,\"survey\":{\"surveyId\":\"" + SURVEY + "\"}}";
    }

    /** HH1 at the centre, HH2 ~150 m north, HH3 without coordinates. */
    private static Store loaded() throws Exception {
        Store s = Store.open(h.path("w" + (++files) + ".db"), ID1, null);
        WalkLists w = s.walkLists();
        w.upsertReference(WalkLists.HOUSEHOLDS, household(HH1, LAT, LNG));
        w.upsertReference(WalkLists.HOUSEHOLDS, household(HH2, LAT + 0.00135, LNG));
        w.upsertReference(WalkLists.HOUSEHOLDS,
                          "{\"id\":\"" + HH3 + "\",\"data\":{\"unitNum\":\"2\"}," + MOD + "}");
        w.upsertReference(WalkLists.CONTACT_HOUSEHOLDS,
                          "{\"id\":\"" + LINK + "\",\"data\":{\"contactId\":\"" + CONTACT
                              + "\",\"householdId\":\"" + HH1 + "\"}," + MOD + "}");
        w.upsertReference(WalkLists.CAMPAIGNS,
                          "{\"id\":\"" + CAMPAIGN + "\",\"data\":{\"name\":\"C\",\"lists\":[{"
                              + "\"listId\":\"" + WL + "\",\"type\":\"normal\"}]}}");
        w.upsertReference(WalkLists.LISTS, "{\"id\":\"" + WL + "\",\"data\":{\"name\":\"Demo\"}}");
        for (String hh : new String[] {HH1, HH2, HH3}) {
            w.addHousehold(WL, null, hh);
        }
        return s;
    }

    public static void main(String[] args) throws Exception {
        h = new Harness();

        h.add("test_jni_walk__progress_and_next_doors", () -> {
            try (Store s = loaded()) {
                WalkLists w = s.walkLists();
                contains(w.list(), WL, "the walk list is known");
                contains(w.show(WL), HH1, "its households");
                contains(w.reference(WalkLists.HOUSEHOLDS, HH1), "Cambridge", "cached household");
                contains(w.references(WalkLists.HOUSEHOLDS), HH2, "all households");
                String p = w.progress(WL);
                contains(p, "\"knocked\":0", "nothing knocked");
                contains(p, "\"remaining\":3", "three to go");
                String next = w.nextDoors(WL, LAT, LNG, 2);
                check(next.indexOf(HH1) >= 0 && next.indexOf(HH1) < next.indexOf(HH2),
                      "nearest first: " + next);
                check(!next.contains(HH3), "no door without coordinates");
                s.record(knock(HH1, "2024-05-01T10:00:00.000Z"),
                         new RecordOptions().fix(LAT, LNG, 5, null));
                contains(w.progress(WL), "\"knocked\":1", "one knocked");
                next = w.nextDoors(WL, LAT, LNG, 2);
                check(!next.contains(HH1) && next.contains(HH2), "the knocked door is not next");
                fails(WalkbookException.EINVALID, () -> w.nextDoors(WL, LAT, LNG, 0));
                fails(WalkbookException.EINVALID, () -> w.nextDoors(WL, 91, LNG, 1));
                fails(WalkbookException.ENOTFOUND,
                      () -> w.show("00000000-0000-4000-8000-000000000000"));
                fails(WalkbookException.ENOTFOUND,
                      () -> w.progress("00000000-0000-4000-8000-000000000000"));
            }
        });

        h.add("test_jni_walk__record_with_fix_and_signals", () -> {
            try (Store s = loaded()) {
                /* ~200 m from HH1, with a poor fix. */
                String far = s.record(knock(HH1, "2024-05-01T10:00:00.000Z"),
                                      new RecordOptions().fix(LAT + 0.0018, LNG, 80, null));
                String sig = s.signals(far);
                contains(sig, "far_from_door", "far from the door");
                contains(sig, "poor_accuracy", "poor accuracy");
                contains(s.get(far), "\"distance\":", "distance stored");
                contains(s.flagged("far_from_door"), far, "listed as flagged");
                String none = s.record(knock(HH2, "2024-05-01T10:05:00.000Z"), null);
                contains(s.signals(none), "missing_fix", "no fix is a signal, not an error");
                WalkbookException e = fails(WalkbookException.EINVALID,
                    () -> s.record(knock(HH1, "2024-05-01T10:06:00.000Z"),
                                   new RecordOptions().fix(91, LNG, 5, null)));
                contains(e.getMessage(), "lat", "names the fix member");
                fails(WalkbookException.EINVALID,
                      () -> s.record("{}", new RecordOptions().check(RecordOptions.Check.OFF)));
                fails(WalkbookException.ENOTFOUND,
                      () -> s.signals("00000000-0000-4000-8000-000000000000"));
            }
        });

        h.add("test_jni_walk__campaign_settings", () -> {
            try (Store s = loaded()) {
                WalkLists w = s.walkLists();
                w.setCampaignSettings(CAMPAIGN, "{\"nearMetres\":250,\"validation\":\"strict\"}");
                String c = w.campaignSettings(CAMPAIGN);
                contains(c, "\"nearMetres\":250", "set");
                contains(c, "strict", "mode");
                WalkbookException e = fails(WalkbookException.EINVALID,
                    () -> w.setCampaignSettings(CAMPAIGN, "{\"farMetres\":-1}"));
                contains(e.getMessage(), "farMetres", "names the member");
                String near = s.record(knock(HH1, "2024-05-01T10:00:00.000Z"),
                                       new RecordOptions().fix(LAT + 0.0018, LNG, 5, null));
                check(!s.signals(near).contains("\"far_from_door\""), "200 m is near now");
            }
        });

        h.add("test_jni_walk__track", () -> {
            try (Store s = Store.open(h.path("track.db"), ID1, null)) {
                WalkLists w = s.walkLists();
                check(w.trackAdd(LAT, LNG, 5, "2024-05-01T10:00:00.000Z", 10), "kept");
                check(!w.trackAdd(LAT + 0.00001, LNG, 5, "2024-05-01T10:00:10.000Z", 10),
                      "a point 1 m away is dropped");
                check(w.trackAdd(LAT + 0.001, LNG, 5, "2024-05-01T10:01:00.000Z", 10), "kept");
                contains(w.track(null, null), "\"points\":2", "two points");
                fails(WalkbookException.EINVALID, () -> w.trackAdd(LAT, 181, 5, null, 10));
                fails(WalkbookException.EINVALID, () -> w.trackAdd(LAT, LNG, 5, "noon", 10));
                eq(2L, w.trackPurge(null), "purged");
                contains(w.track(null, null), "\"points\":0", "empty");
            }
        });

        h.add("test_jni_walk__import_and_errors", () -> {
            Store s = Store.open(h.path("import.db"), ID1, null);
            try {
                WalkLists w = s.walkLists();
                eq(2L, w.importReference("households",
                       "id,lat,lng,address,walklistId\n"
                           + HH1 + ",42.37,-71.11,1 Main St," + WL + "\n"
                           + HH2 + ",42.38,-71.11,2 Main St," + WL + "\n"), "imported");
                contains(w.references(WalkLists.HOUSEHOLDS), "1 Main St", "cached");
                contains(w.progress(WL), "\"households\":2", "on the walk list");
                WalkbookException e = fails(WalkbookException.EINVALID,
                    () -> w.importReference("households", "id,lat,lng\n" + HH3 + ",95,0\n"));
                contains(e.getMessage(), "lat", "names the field");
                fails(WalkbookException.ENOTFOUND, () -> w.reference(WalkLists.HOUSEHOLDS, HH3));
                fails(WalkbookException.EINVALID, () -> w.upsertReference("planets", "{}"));
                fails(WalkbookException.EINVALID, () -> w.upsertReference(WalkLists.HOUSEHOLDS, "{"));
                fails(WalkbookException.EINVALID, () -> w.addHousehold("x", null, HH1));
                s.close();
                fails(WalkbookException.EINVALID, () -> w.list());
            } finally {
                s.close();
            }
        });

        System.exit(h.run(args));
    }
}
