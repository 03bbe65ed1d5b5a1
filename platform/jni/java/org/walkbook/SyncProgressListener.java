package org.walkbook;

/**
 * Progress of a sync run. Called on the thread that runs the sync (the
 * caller of {@link Sync#run()}, or the sync's own thread after
 * {@link Sync#start()}), never on the main thread unless the app runs the
 * sync there: post to the UI yourself.
 */
public interface SyncProgressListener {
    int PHASE_PUSH = 1;
    int PHASE_PULL = 2;

    /**
     * @param phase {@link #PHASE_PUSH} or {@link #PHASE_PULL}
     * @param done  records handled in this phase
     * @param total records to push (push), 0 when unknown (pull)
     * @return true to go on, false to cancel the run
     */
    boolean onProgress(int phase, long done, long total);
}
