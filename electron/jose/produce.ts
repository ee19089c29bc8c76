// What KeyLadder itself produces, for the keyring, exports and the CLI to
// call: a compact JWE to a recipient's public key, and a compact JWS by a
// signing key. The table decides the algorithms (its `produced` entries):
// RSA-OAEP-256 for RSA recipients, ECDH-ES+A256KW for EC ones, A256GCM, and
// ES256 signatures; the header names the key's kid.
//
// RSA-OAEP-256 and ES256 go through jose (Web Crypto has RSA-OAEP, AES-GCM
// and ECDSA everywhere). ECDH-ES+A256KW wraps the CEK with AES key wrap,
// which jose does through Web Crypto's AES-KW and Electron lacks, so it is
// made here: keyManagement.ts wraps, contentCipher.ts seals.

import { randomBytes } from 'node:crypto';
import { CompactEncrypt, CompactSign, importJWK, type JWK } from 'jose';
import { encodeBase64Url } from '../encoding/base64.js';
import { utf8 } from '../encoding/bytes.js';
import { rsaPublicKeyProblem } from '../jwe/rsaKeyCheck.js';
import { producedEntry, type KeyType } from './algorithms.js';
import { sealContent } from './contentCipher.js';
import { JoseRefusal } from './errors.js';
import { wrapCekForEcRecipient } from './keyManagement.js';
import { keyFits, publicJwk } from './keys.js';

/** Header members besides alg, enc, kid and epk (typ, cty; and claims replicated as RFC 7519 5.3 allows: aud, iat). */
export type ExtraHeader = Readonly<Record<string, string | number>>;

const badKey = (message: string): JoseRefusal => new JoseRefusal('BAD_KEY', message);

function checkKid(kid: string): void {
  if (typeof kid !== 'string' || kid === '') throw badKey('A kid is required: the receiver finds its key by it.');
}

/** A compact JWE of `plaintext` to `recipient` (a public JWK), its kid in the protected header. */
export async function encryptToRecipient(plaintext: Uint8Array, recipient: JWK, kid: string, extra: ExtraHeader = {}): Promise<string> {
  checkKid(kid);
  const entry = producedEntry('key-management', recipient.kty as KeyType);
  const enc = producedEntry('content-encryption');
  if (entry === undefined || enc === undefined) throw badKey(`KeyLadder encrypts to RSA or EC public keys, not to kty ${String(recipient.kty)}.`);
  if ('d' in recipient || 'k' in recipient) throw badKey('The recipient key holds private members; give its public key only.');
  const problem = recipient.kty === 'RSA' ? rsaPublicKeyProblem(recipient as Record<string, unknown>) : undefined;
  if (problem !== undefined) throw badKey(`The recipient key is refused: ${problem}.`);
  if (!keyFits(entry, { kind: 'jwk', jwk: { ...recipient, d: '' } }, enc)) throw badKey(`The recipient key does not fit ${entry.name} (curve ${String(recipient.crv)}?).`);
  const header = { ...extra, alg: entry.name, enc: enc.name, kid };
  if (entry.aesKeyWrap === undefined) {
    return new CompactEncrypt(plaintext).setProtectedHeader(header).encrypt(await importJWK(publicJwk(recipient), entry.name));
  }
  const cek = randomBytes(enc.cekBytes ?? 0);
  try {
    const { encryptedKey, epk } = wrapCekForEcRecipient(entry, recipient, cek);
    const protectedB64 = encodeBase64Url(utf8(JSON.stringify({ ...header, epk })));
    const iv = randomBytes(enc.ivBytes ?? 0);
    const { ciphertext, tag } = sealContent(enc, cek, iv, plaintext, utf8(protectedB64));
    return [protectedB64, encryptedKey, iv, ciphertext, tag].map((p) => (typeof p === 'string' ? p : encodeBase64Url(p))).join('.');
  } finally {
    cek.fill(0);
  }
}

/** A compact JWS of `payload` by `signer` (a private JWK), its kid in the protected header. */
export async function signCompact(payload: Uint8Array, signer: JWK, kid: string, extra: ExtraHeader = {}): Promise<string> {
  checkKid(kid);
  const entry = producedEntry('signature', signer.kty as KeyType);
  if (entry === undefined || !keyFits(entry, { kind: 'jwk', jwk: signer })) throw badKey(`KeyLadder signs with ${producedEntry('signature')?.name} keys (EC P-256, private) only.`);
  const { kid: _kid, use: _use, key_ops: _ops, ...bare } = signer;
  return new CompactSign(payload).setProtectedHeader({ ...extra, alg: entry.name, kid }).sign(await importJWK(bare, entry.name));
}
