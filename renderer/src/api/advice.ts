// "What to do" for each error code an operator can meet. The services'
// messages say what happened; these lines say what to try next.

const ADVICE: Readonly<Record<string, string>> = {
  WRONG_PASSPHRASE: 'Check Caps Lock and the keyboard layout, and type the passphrase again.',
  WEAK_PASSPHRASE: 'Choose a longer passphrase: several unrelated words work well.',
  STORE_LOCKED: 'Unlock the store again with its passphrase.',
  STORE_EXISTS: 'A store already exists here: unlock it instead of creating a new one.',
  STORE_NOT_FOUND: 'Create a store first.',
  STORE_CORRUPT: 'The store file is damaged or was altered. Restore it from a backup: Settings → Backup and restore, or “Restore from a backup…” on the unlock screen.',
  KEYFILE_CORRUPT: 'The store key file is damaged. Restore the store from a backup with “Restore from a backup…” on the unlock screen.',
  NOT_A_STORE: 'The folder holds other files, not a KeyLadder store: choose the store’s own folder, or create a store in an empty one.',
  WEAK_KDF: 'The store key file asks for a weaker passphrase derivation than KeyLadder accepts: restore the store from a backup, or use the key file KeyLadder wrote.',
  BACKUP_INVALID: 'The file is not a backup this KeyLadder wrote, or it was cut short or altered: choose another backup.',
  BACKUP_OTHER_STORE: 'This backup is of another store, not of the one it would replace: choose a backup of this store. The app never replaces a store with another store’s backup: that needs a deliberate --other-store, which only a restore outside the app takes.',
  RECORD_SEAL_INVALID: 'A sealed record does not open: the store was altered outside KeyLadder. Verify the store (Settings), then restore it from a backup.',
  STORE_TOO_NEW: 'This store was written by a newer KeyLadder. Update the app to open it.',
  INVALID_ARGUMENT: 'Correct the highlighted value and try again.',
  INVALID_IDENTITY: 'Use 1 to 256 printable characters without spaces (an ESN, for example).',
  INVALID_KEY: 'Check the key: Kpe and Kpw are 32 hex digits, Kph is 64.',
  DEVICE_EXISTS: 'That identity is already provisioned. Search for it in the list, or use another identity.',
  DEVICE_NOT_FOUND: 'Check the identity, or provision the device first.',
  DEVICE_ALREADY_REVOKED: 'Nothing to do: the device is already revoked.',
  DEVICE_DELETED: 'That identity belonged to a deleted device: nothing is left to delete. To provision or import it again on purpose, tick “Reuse a deleted device’s name” (in an import, “Reuse deleted devices’ names”) and try again; its old wrapdata and master tokens stay refused.',
  IDENTITY_LIST_INVALID: 'Fix the identity list: one identity a line, each once, no blank line.',
  GROUP_EXISTS: 'Pick another name, or use the existing group.',
  GROUP_NOT_FOUND: 'Add the model group first (Model groups → Add model group), or leave the group empty.',
  ISSUER_NOT_FOUND: 'Open Kissuer again to see the generations this store has.',
  ISSUER_TRANSITION: 'That change is not allowed from the generation’s current status; see the status column.',
  ISSUER_CONFLICT: 'Refresh the table and try again.',
  ISSUER_KEY_KNOWN: 'This Kissuer is (or was) one of this store’s generations already; nothing was imported. There is nothing to import again.',
  MSL_KEY_INVALID: 'Give the MSL server’s RSA private key (2048 bits or more, e = 65537), unencrypted: PEM “RSA PRIVATE KEY” or “PRIVATE KEY”, or the Base64 DER of msl.rsa.priv.N.',
  MSL_KEY_KNOWN: 'That key (or key id) is already one of this store’s MSL generations: nothing was imported. Choose another key id, or nothing needs importing.',
  MSL_NOT_FOUND: 'Create the MSL server identity and master-token keys first (MSL server screen: Create identity, Rotate keys; or keyladder msl identity create, keyladder msl keys rotate), or check the generation number.',
  MSL_CAPTURE_TOO_LARGE: 'Paste only the one message (its HTTP body, or that body in Base64), or choose the capture as a file: the inspector reads files of up to 16 MiB, the most an MSL message may be.',
  MSL_TRANSITION: 'That change is not allowed from the generation’s current status: rotate to replace the active one.',
  IMPORT_INVALID: 'Fix the file (header row: identity, group, kpe, kph, kpw) and import it again.',
  BUNDLE_INVALID: 'Check that the file and the passphrase or key belong together.',
  RECIPIENT_KEY_INVALID: 'Choose the recipient’s public key file: RSA of at least 2048 bits with e = 65537, or EC on P-256 or P-384, with no private members.',
  JOSE_PARSE: 'Paste the whole object: a compact JWE (five parts), a JWS (three parts), or its JSON serialization.',
  JOSE_UNSUPPORTED_ALG: 'Ask the sender to use an algorithm KeyLadder accepts (RSA-OAEP-256, ECDH-ES+A256KW, A256GCM; ES256 to sign).',
  NO_KEY_FOR_KID: 'Choose the key it was made for: a key file, a device or a model group; or compare the kid with this KeyLadder’s own keys.',
  RECIPIENT_EXISTS: 'That key is already in the keyring, under the kid the message names: use that one.',
  RECIPIENT_NOT_FOUND: 'Check the kid against Keys → Recipients, or add the recipient’s key first.',
  SIGNER_UNKNOWN: 'Pin the signer first: add its public signing key as a recipient (use: sig) after confirming its thumbprint with its owner, then import again.',
  KID_TAKEN: 'That kid already names another key, this KeyLadder’s own or one in the keyring: a signature naming it could pass for that key’s. Ask the key’s owner to give it another kid, or remove the keyring entry first.',
  SIGNER_ROLE: 'The signer’s key is pinned for other imports only. If the peer should sign Kissuer exports too, remove its key on the Keys screen and add it again with “may also sign Kissuer exports” ticked.',
  REVOCATION_LIST_REFUSED: 'Nothing was imported. Ask the peer for its newest list, signed by the key that signed its earlier lists; a list dated ahead needs the clocks set right.',
  REASON_INVALID: 'Shorten the reason to at most 1,000 characters, on one line without control characters. Nothing was changed.',
  OPERATOR_NAME_INVALID: 'Type the name the audit log should record for you (1 to 64 printable characters): your name, never a passphrase.',
  AUDIENCE_MISMATCH: 'The file was signed for another KeyLadder, and re-encrypted to this one on the way. Ask its maker for an export made to this KeyLadder’s own key (Keys → Copy public JWKS).',
  SIGNATURE_REQUIRED: 'Nothing signed this file. Import it only if you know where it came from: choose how it is protected and tick “I know where this file came from”.',
  JSON_TOO_DEEP: 'The JSON nests objects or arrays more than 64 levels deep, which no honest file or object does: ask its sender for a flatter one.',
  DUPLICATE_MEMBER: 'The file names a member twice, and KeyLadder will not guess which one is meant: remove one of them (the message says which and where).',
  PBES2_BUDGET_EXCEEDED: 'The JWE asks for more passphrase iterations in all than KeyLadder runs for one object: ask its sender for one PBES2 recipient at 600,000 iterations or fewer.',
  JOSE_INTEGRITY: 'The key is not the one it was made for, or the object was altered on the way: check both with its sender.',
  DISK_FULL: 'Free disk space where the store lives, then try again: nothing was lost, and the store does not need restoring.',
  STORE_REPLACED: 'Another program replaced the store file (a restore) while this one had it open. Unlock the store again to work on the file now in place.',
  STORE_IN_USE: 'Stop the other program that has this store open (a command-line responder, or another KeyLadder window), then try again.',
  CHECKPOINT_INVALID: 'Use a checkpoint this store wrote; after a rekey, take a new one.',
  ARCHIVE_INVALID: 'Use an audit archive file this store wrote, as it was written.',
  TOKEN_NOT_CHOSEN: 'Choose the token file, or switch the token off.',
  TOKEN_FILE_INVALID: 'Use a file whose first line is a token of at least 22 printable characters (for example: openssl rand -base64 32).',
  CLIENT_CA_NOT_CHOSEN: 'Choose the CA certificate, or switch mutual TLS off.',
  MSL_MESSAGE_NOT_FOUND: 'The live list keeps only the last messages, and none once the store locks: find the message in the audit log (action msl).',
  UNLOCK_BACKOFF: 'Wait until the time shown has passed, then try the passphrase again. Each wrong passphrase doubles the wait, up to 30 seconds.',
  NOT_CONFIRMED: 'Nothing was done. Try again and confirm in the dialog if you mean it.',
  AUDIT_UNAVAILABLE: 'Free disk space where the store lives: the responder answers again by itself once its audit log can be written.',
  FILE_EXISTS: 'Choose another file name; KeyLadder never writes over a file without asking, nor through a symbolic link.',
  FILE_UNWRITABLE: 'Choose a folder that exists and that you may write to, on a disk with free space.',
  WRAPDATA_SUPERSEDED: 'The device presented wrapdata that was already used and climbed on from: a replay or a clone. See its “possible clone” mark.',
  WRAPDATA_UNREGISTERED: 'This responder does not know the device’s bare-MSL wrapdata: the device should fall back to PSK or MGK. A device moving from MSL’s own responder needs the migration window (keyladder policy migration).',
  ENTITY_NOT_FOUND: 'The device is not provisioned here. Provision it, or check the identity.',
  ENTITY_REVOKED: 'The device is revoked; it can no longer exchange keys.',
  KEYX_WRAPPING_KEY_MISSING: 'The wrapdata is unusable (retired or unknown Kissuer generation): the device should fall back to PSK or MGK.',
  KEYX_RESPONDER_UNAVAILABLE: 'There is no active Kissuer generation: rotate Kissuer to create one.',
  MSL_PARSE_ERROR: 'Check the JSON: Base64 must be standard and padded, and members must match the mechanism.',
  UNIDENTIFIED_KEYX_MECHANISM: 'The mechanism must be PSK, MGK or WRAP.',
  UNSUPPORTED_KEYX_MECHANISM: 'The scheme must be JWE_LADDER.',
  JWE_DECRYPTION_ERROR: 'The response does not decrypt with the key the request names: it answers another request or device, or was altered.',
  UNTRUSTED_SENDER: 'Restart KeyLadder. If it happens again, report it: the request did not come from the app’s own page.',
  INTERNAL_ERROR: 'Try again. If it happens again, note the time and report it with the app log.',
  IPC_FAILED: 'Try again; if it keeps failing, restart KeyLadder.',
  NO_BRIDGE: 'Open KeyLadder through the desktop app.',
  RESPONDER_RUNNING: 'Stop the responder first, then start it with the new address.',
  RESPONDER_DRAINING: 'Wait a few seconds for the last requests to finish, then start it again.',
  ADDRESS_IN_USE: 'Another program (or another KeyLadder) uses that port: choose another port, or 0 for any free one.',
  ADDRESS_NOT_AVAILABLE: 'Use 127.0.0.1, or an address this machine really has (0.0.0.0 listens on all of them).',
  PORT_NOT_PERMITTED: 'Choose a port from 1024 up: lower ports need administrator rights.',
  TLS_NOT_CHOSEN: 'Choose the certificate and key files, or switch TLS off.',
  TLS_FILES_INVALID: 'Choose a PEM certificate and the unencrypted PEM private key that belongs to it.',
  TLS_FILES_UNREADABLE: 'Check that both files exist and that your account may read them.',
};

/** Advice for one reason of a code (CODE.REASON), where the code's own line would not say what to do. */
const REASON_ADVICE: Readonly<Record<string, string>> = {
  'MSL_KEY_INVALID.NOT_RSA': 'MSL’s RSA entity authentication needs an RSA key: choose the server’s RSA private key, not an EC or Ed25519 one.',
  'MSL_KEY_INVALID.KEY_SIZE': 'Use an RSA key of 2048 bits or more, or let KeyLadder make one (Rotate).',
  'MSL_KEY_INVALID.EXPONENT': 'Use an RSA key whose public exponent is 65537 (openssl genpkey -algorithm RSA makes one), or let KeyLadder make one (Rotate).',
  'MSL_KEY_INVALID.WEAK_KEY': 'The key can be broken from its public half alone: do not use it anywhere. Let KeyLadder make a new one (Rotate) and re-configure the clients.',
  'MSL_KEY_INVALID.HALVES_MISMATCH': 'The private key file is damaged or was assembled from two keys: take the key from the MSL server again, unaltered.',
  'MSL_KEY_INVALID.PUBLIC_KEY_MISMATCH': 'The public key the clients pin (msl.rsa.pub.N) is not this private key’s: choose the matching pair, or import without a public key file and re-configure the clients with the lines shown.',
  'MSL_KEY_INVALID.ENCRYPTED': 'Decrypt the key first (openssl pkey -in KEY -out PLAIN), import the plain copy, then erase it.',
  'INVALID_KEY.key-size': 'Choose a key of the size the JWE’s algorithm takes (A128KW: 16 bytes, A256KW: 32): a device’s Kpw and a group’s Kdw are 16 bytes.',
  'INVALID_KEY.MSL_TOKEN_KEYS': 'Give the MSL server’s msl.key.enc (32 hex digits, AES-128) and msl.key.hmac (64 hex digits, HMAC-SHA256): its mslsrv.cfg holds both lines.',
  'MSL_KEY_INVALID.NOT_PRIVATE': 'Choose the private key (PEM “RSA PRIVATE KEY” or “PRIVATE KEY”), or the MSL server config holding msl.rsa.priv.N; the public key alone cannot sign.',
};

export function adviceFor(code: string, reason?: string): string {
  return (reason === undefined ? undefined : REASON_ADVICE[`${code}.${reason}`]) ?? ADVICE[code] ?? 'Check the values you entered and try again. If it keeps failing, see the audit log and the app log.';
}

/**
 * What to do about an MSL error header (the simulated MSL device, issue 21): the line of its MSL
 * error name when it has one, else what its response code tells the device to do, which is what
 * MSL clients act on.
 */
const MSL_RESPONSE_ADVICE: Readonly<Record<string, string>> = {
  FAIL: 'The responder will not answer this message as it is: check the device’s keys and settings against this store, and see the audit log.',
  TRANSIENT_FAILURE: 'Try again in a moment: the responder could not answer now.',
  ENTITY_REAUTH: 'The device drops its master token and authenticates again with PSK or MGK; check that its token came from this store and is the newest for its serial.',
  KEYX_REQUIRED: 'The device must renew its keys: its next message carries a key request.',
  ENTITYDATA_REAUTH: 'The device’s entity authentication did not verify: check that the Kpe/Kph (or its model group’s Kde/Kdh) in this store are the keys the device holds.',
  EXPIRED: 'The master token has expired: the device renews it, or authenticates again.',
  REPLAYED: 'That non-replayable id was used already: the device sends again with a new one.',
};

export function mslAdviceFor(name: string | undefined, response: string): string {
  if (name !== undefined && ADVICE[name] !== undefined) return ADVICE[name];
  return MSL_RESPONSE_ADVICE[response] ?? adviceFor(name ?? response);
}
