package org.walkbook;

/**
 * Asked once per run, on the sync thread, after the server answered 401:
 * return a new bearer token, or null to stop the run (it then fails with
 * EAUTH). Blocking here (a token request) is fine: the sync waits.
 */
public interface TokenRefresher {
    String refreshToken();
}
