package org.walkbook;

/** What to keep when resolving a conflict (walkbook.h {@code wb_resolution}). */
public enum Resolution {
    /** This device's values for the fields changed on both sides. */
    TAKE_LOCAL(0),
    /** The server's values for the fields changed on both sides. */
    TAKE_REMOTE(1),
    /** A caller-edited data object (validated like a record). */
    TAKE_DOCUMENT(2);

    final int value;

    Resolution(int value) { this.value = value; }
}
