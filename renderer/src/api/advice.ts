// "What to do" for each error code an operator can meet. The services'
// messages say what happened; these lines say what to try next.

const ADVICE: Readonly<Record<string, string>> = {
  WRONG_PASSPHRASE: 'Check the passphrase (and Caps Lock), then try again. Nothing in the store was touched.',
  WEAK_PASSPHRASE: 'Choose a longer passphrase: several unrelated words work well.',
  STORE_LOCKED: 'Unlock the store again with its passphrase.',
  STORE_EXISTS: 'A store already exists here: unlock it instead of creating a new one.',
  STORE_NOT_FOUND: 'Create a store first.',
  STORE_CORRUPT: 'The store file is damaged or was altered. Restore it from a backup.',
  KEYFILE_CORRUPT: 'The store key file is damaged. Restore the store from a backup.',
  STORE_TOO_NEW: 'This store was written by a newer KeyLadder. Update the app to open it.',
  INVALID_ARGUMENT: 'Correct the highlighted value and try again.',
  INVALID_IDENTITY: 'Use 1 to 256 printable characters without spaces (an ESN, for example).',
  INVALID_KEY: 'Check the key: Kpe and Kpw are 32 hex digits, Kph is 64.',
  DEVICE_EXISTS: 'That identity is already provisioned. Search for it in the list, or use another identity.',
  DEVICE_NOT_FOUND: 'Check the identity, or provision the device first.',
  DEVICE_ALREADY_REVOKED: 'Nothing to do: the device is already revoked.',
  GROUP_EXISTS: 'Pick another name, or use the existing group.',
  GROUP_NOT_FOUND: 'Create the model group first, or leave the group empty.',
  ISSUER_NOT_FOUND: 'Refresh the table: that generation does not exist.',
  ISSUER_TRANSITION: 'That change is not allowed from the generation’s current status; see the status column.',
  ISSUER_CONFLICT: 'Refresh the table and try again.',
  IMPORT_INVALID: 'Fix the file (header row: identity, group, kpe, kph, kpw) and import it again.',
  BUNDLE_INVALID: 'Check that the file and the passphrase or key belong together.',
  RECIPIENT_KEY_INVALID: 'Paste the recipient’s RSA public key as a JWK (kty "RSA").',
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
};

export function adviceFor(code: string): string {
  return ADVICE[code] ?? 'Check the values you entered and try again. If it keeps failing, see the audit log and the app log.';
}
