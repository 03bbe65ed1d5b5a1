package org.walkbook;

/** JSON Patch helpers (RFC 6902), whole-document paths. */
public final class Json {
    static { Walkbook.load(); }

    private Json() {}

    /** Apply a JSON Patch to a document. */
    public static String patchApply(String document, String patch) throws WalkbookException {
        return Walkbook.string(nativePatchApply(Walkbook.utf8(document), Walkbook.utf8(patch)));
    }

    /** A JSON Patch that turns {@code from} into {@code to}. */
    public static String diff(String from, String to) throws WalkbookException {
        return Walkbook.string(nativeDiff(Walkbook.utf8(from), Walkbook.utf8(to)));
    }

    private static native byte[] nativePatchApply(byte[] document, byte[] patch)
            throws WalkbookException;

    private static native byte[] nativeDiff(byte[] from, byte[] to) throws WalkbookException;
}
