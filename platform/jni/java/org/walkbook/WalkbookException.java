package org.walkbook;

/**
 * A walkbook call failed. Carries the walkbook error code ({@code WB_E...},
 * negative), the error class, the one-line message, and the SQLite, HTTP and
 * OS details when there are any. The bridge reads them inside the native
 * call that failed, on the thread that failed.
 */
public class WalkbookException extends Exception {
    private static final long serialVersionUID = 1L;

    /** Error codes (walkbook.h {@code wb_error_code}). */
    public static final int ERROR = -1;
    public static final int EINVALID = -2;
    public static final int ENOTFOUND = -3;
    public static final int ECONFLICT = -4;
    public static final int EBUSY = -5;
    public static final int EAUTH = -6;
    public static final int EOFFLINE = -7;
    public static final int ENOMEM = -8;
    public static final int EIO = -9;
    public static final int ESCHEMA = -10;
    public static final int ECORRUPT = -11;
    public static final int EEXISTS = -12;
    public static final int ETOOBIG = -13;
    public static final int EREADONLY = -14;
    public static final int EKEY = -15;
    public static final int ETAMPER = -16;

    /** Error classes (walkbook.h {@code wb_error_class}). */
    public static final int CLASS_NONE = 0;
    public static final int CLASS_STORE = 1;
    public static final int CLASS_SYNC = 2;
    public static final int CLASS_NET = 3;
    public static final int CLASS_CRYPTO = 4;
    public static final int CLASS_JSON = 5;
    public static final int CLASS_INVALID = 6;
    public static final int CLASS_NOMEM = 7;
    public static final int CLASS_OS = 8;

    private static final String[] CLASS_NAMES = {
        "none", "store", "sync", "net", "crypto", "json", "invalid", "nomem", "os"
    };

    private final int code;
    private final int errorClass;
    private final int sqliteCode;
    private final int httpStatus;
    private final int osError;

    /** Called by the native bridge. */
    WalkbookException(int code, int errorClass, String message, int sqliteCode, int httpStatus,
                      int osError) {
        super(message);
        this.code = code;
        this.errorClass = errorClass;
        this.sqliteCode = sqliteCode;
        this.httpStatus = httpStatus;
        this.osError = osError;
    }

    WalkbookException(int code, int errorClass, String message) {
        this(code, errorClass, message, 0, 0, 0);
    }

    /** The walkbook code, e.g. {@link #ENOTFOUND}. */
    public int code() { return code; }

    /** The code's constant name, e.g. "WB_ENOTFOUND". */
    public String codeName() { return Walkbook.errorName(code); }

    /** The error class, e.g. {@link #CLASS_STORE}. */
    public int errorClass() { return errorClass; }

    /** The error class as a word: "store", "sync", "net", ... */
    public String errorClassName() {
        return errorClass >= 0 && errorClass < CLASS_NAMES.length ? CLASS_NAMES[errorClass]
                                                                  : "unknown";
    }

    /** SQLite extended result code, or 0. */
    public int sqliteCode() { return sqliteCode; }

    /** HTTP status of the failed request, or 0. */
    public int httpStatus() { return httpStatus; }

    /** errno or CURLcode, or 0. */
    public int osError() { return osError; }

    @Override
    public String toString() {
        return "WalkbookException[" + codeName() + ", " + errorClassName() + "]: " + getMessage();
    }
}
