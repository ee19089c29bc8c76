// `keyladder help concepts`: the words the rest of the help uses, each in a
// line or two (issue 22, item 7). The facts are those of docs/protocol.md and
// README's key table; kept short, so that it is read.

export const CONCEPTS_TOPIC = 'concepts';

const TERMS: readonly (readonly [term: string, meaning: string])[] = [
  ['JWE_LADDER', 'MSL\'s key exchange this responder answers: a device asks with PSK, MGK or WRAP, and gets a new\nKwrap, its wrapdata and session keys, each key a JSON Web Key inside a JWE.'],
  ['PSK', 'pre-shared keys: a device asks with its own Kpw (the mechanism\'s first rung). Its keys are Kpe\n(AES-128), Kph (HMAC-SHA256, 32 bytes) and Kpw (AES-128 key wrap), derived from Kpe and Kph or given.'],
  ['MGK', 'model group keys: every device of one model shares Kde, Kdh and Kdw (Kdw derived from Kde and Kdh\nas Kpw is); a device asks with its group\'s Kdw (`group add`, `device add --group`).'],
  ['WRAP', 'a device asks with the wrapdata of its last answer: the responder opens it with Kissuer to find the\nKwrap the device holds. Each exchange climbs one rung.'],
  ['Kpw, Kdw', 'the wrapping key of a PSK device, of an MGK group: the first rung\'s Kprev.'],
  ['Kwrap', 'the rung: a new random AES-128 key wrap key in every answer, wrapped under the key the device asked\nwith. It wraps Kenc and Khmac; the device keeps it, with its wrapdata, for its next (WRAP) exchange.'],
  ['Kenc, Khmac', 'the session keys every answer carries: AES-128-CBC and HMAC-SHA256 (32 bytes).'],
  ['Kissuer', 'the issuer key (AES-128 key wrap), never given to a device: wraps each Kwrap into wrapdata. It has\ngenerations (active, grace, retired, destroyed); `issuer list` shows them, `issuer rotate` adds one.'],
  ['wrapdata', 'Kwrap wrapped under Kissuer, opaque to the device, handed back unchanged in a WRAP request; the\nresponder keeps no Kwrap of its own.'],
  ['KCV', 'key check value, what is shown instead of a key: 6 hex digits, the first 3 bytes of AES-ECB(key, zero\nblock) for an AES key, of HMAC-SHA256(key, empty message) for an HMAC key. Equal KCVs: equal keys.'],
  ['thumbprint', 'how a public key (RSA, EC) is named: its RFC 7638 SHA-256 thumbprint, base64url; the kid of the\nkeyring\'s recipients, of this KeyLadder\'s identity and of the MSL server\'s key.'],
  ['master token', 'MSL\'s session ticket: the MSL server (`msl identity`, `msl keys`) issues it to a client with a key\nresponse; it holds the session keys (Kenc, Khmac), sealed under the server\'s token keys,\nwith a renewal window and an expiration (`msl settings`).'],
];

export function conceptsHelp(): string {
  const width = Math.max(...TERMS.map(([t]) => t.length)) + 2;
  const indent = ' '.repeat(width + 2);
  return [
    'The words keyladder\'s help uses (docs/protocol.md has the wire format).',
    '',
    ...TERMS.map(([term, meaning]) => `  ${term.padEnd(width)}${meaning.split('\n').join(`\n${indent}`)}`),
    '',
  ].join('\n');
}
