package org.walkbook.test;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.walkbook.Identity;

/** Identities and record bodies shared by the Java tests (the same shapes as
 *  tests/sync/test_sync_integration.c). */
final class Fixtures {
    static final String C1 = "c1c1c1c1-0000-4000-8000-000000000001";
    static final String SG1 = "5e5e5e5e-0000-4000-8000-000000000001";
    static final String U1 = "aaaaaaaa-0000-4000-8000-000000000001";
    static final String U2 = "aaaaaaaa-0000-4000-8000-000000000002";
    static final String CAMPAIGN = "61fbfbaa-5de8-4d17-ac2b-c47f2376265a";
    static final String CAMPAIGN2 = "61fbfbaa-5de8-4d17-ac2b-c47f23762650";
    static final String Q1 = "9826940d-76a8-4700-8c92-5743ce7bb728";
    static final String Q2 = "9826940d-76a8-4700-8c92-5743ce7bb729";
    static final Identity ID1 = new Identity(C1, U1, SG1);

    private Fixtures() {}

    static String body(int i) {
        return body(i, CAMPAIGN, "yes");
    }

    static String body(int i, String campaign, String answer) {
        return String.format(
            "{\"campaignId\":\"%s\",\"contactId\":\"0478dbbf-b6eb-4168-afa9-%012d\","
                + "\"timestamp\":\"2024-05-01T10:%02d:%02d.%03dZ\",\"unavailable\":false,"
                + "\"successful\":true,\"survey\":{\"surveyId\":\"375d437b-3b47-4940-b43d-be8daec4afff\","
                + "\"responses\":{\"%s\":{\"questionId\":\"%s\",\"fields\":{\"answer\":\"%s\"}},"
                + "\"%s\":{\"questionId\":\"%s\",\"fields\":{\"answer\":\"no\"}}}}}",
            campaign, i, (i / 60) % 60, i % 60, i % 1000, Q1, Q1, answer, Q2, Q2);
    }

    /** A string member of a JSON text ("serverId", "state", ...). */
    static String str(String json, String name) {
        Matcher m = Pattern.compile("\"" + Pattern.quote(name) + "\":\"([^\"]*)\"").matcher(json);
        return m.find() ? m.group(1) : null;
    }

    /** A number inside a group of a sync report: num(r, "pushed", "created"). */
    static long num(String report, String group, String name) {
        Matcher m = Pattern.compile("\"" + group + "\":\\{[^}]*\"" + name + "\":(\\d+)")
                        .matcher(report);
        if (!m.find()) {
            throw new AssertionError(group + "." + name + " not in report " + report);
        }
        return Long.parseLong(m.group(1));
    }
}
