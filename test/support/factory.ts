// Opening a passphrase export as its receiver does: a factory or a peer, with
// jose 6 under Node (OpenSSL), exactly as README's snippet does it. Under the
// model of Electron's crypto jose's PBES2 cannot run in this process (it needs
// Web Crypto AES-KW), so there the export is opened with KeyLadder's own
// PBES2 instead; that jose opens KeyLadder's output is proven by the plain-Node
// run of the same tests and by test/jwe/pbes2.test.ts.
import { compactDecrypt, decodeProtectedHeader, type CompactJWEHeaderParameters } from 'jose';
import { pbes2Decrypt } from '../../electron/jwe/pbes2.js';
import { underElectronCryptoModel } from './runtime.js';

/** README's options for a factory: the algorithm pinned, and the raised p2c limit. */
export const FACTORY_OPTIONS = { keyManagementAlgorithms: ['PBES2-HS512+A256KW'], contentEncryptionAlgorithms: ['A256GCM'], maxPBES2Count: 1_000_000 };

export async function openPassphraseExport(jwe: string, passphrase: string): Promise<{ plaintext: Uint8Array; protectedHeader: CompactJWEHeaderParameters }> {
  const key = new TextEncoder().encode(passphrase);
  if (!underElectronCryptoModel()) return compactDecrypt(jwe, key, FACTORY_OPTIONS);
  const { plaintext } = await pbes2Decrypt(jwe, key);
  return { plaintext, protectedHeader: decodeProtectedHeader(jwe) as CompactJWEHeaderParameters };
}
