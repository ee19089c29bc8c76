// How much of a captured MSL message the inspector takes, shared by main (the
// IPC contract and the service refuse more) and the renderer (which checks the
// length before sending, so a 10 MB paste never leaves the window).

/**
 * The most a pasted capture may be, in characters (its Base64 encodes 768 KiB),
 * as for a pasted JOSE object: main parses it on its own thread, and a 3.6 MB
 * paste held it some 0.3 to 0.9 s. A larger message is chosen as a file.
 */
export const MAX_MSL_TEXT = 1024 * 1024;

/** The most a capture file may be, in bytes: the MSL reader's own cap on a message (msl/reader.ts DEFAULT_SPLIT_LIMITS). */
export const MAX_MSL_FILE = 16 * 1024 * 1024;
