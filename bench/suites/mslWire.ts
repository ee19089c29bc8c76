// The MSL wire layer's figures (electron/msl/): splitting a message into its
// objects, opening and writing payload chunks, MSL's LZW and GZIP, and how
// fast a decompression bomb is refused. Messages are built here with the same
// code MSL's captures are checked against in test/msl/.

import { randomBytes } from 'node:crypto';
import { constants, crc32, deflateRawSync } from 'node:zlib';
import { utf8 } from '../../electron/encoding/bytes.js';
import { compress, uncompress } from '../../electron/msl/compression.js';
import { openPayloadChunk, writePayloadChunk } from '../../electron/msl/payloadChunk.js';
import { parseObject, splitMessage } from '../../electron/msl/reader.js';
import { SymmetricCryptoContext } from '../../electron/msl/symmetricContext.js';
import { registerSuite, type BenchCase } from '../harness.js';

const MiB = 1024 * 1024;
const WORDS = ['alpha', 'beta', 'gamma', 'delta', 'token', 'chunk', 'msl'];

/** `bytes` bytes of words picked at random (fixed seed), like capture 008's payload. */
function wordText(bytes: number): Uint8Array {
  let text = '';
  for (let x = 1; text.length < bytes; ) {
    x = (Math.imul(x, 1103515245) + 12345) & 0x7fffffff;
    text += `${WORDS[(x >> 16) % WORDS.length]} `;
  }
  return utf8(text.slice(0, bytes));
}

/** A gzip member of `mib` MiB of zeros (a flushed deflate block repeated). */
function gzipOfZeros(mib: number): Uint8Array {
  const zeroMiB = Buffer.alloc(MiB);
  const block = deflateRawSync(zeroMiB, { finishFlush: constants.Z_FULL_FLUSH });
  let crc = 0;
  for (let i = 0; i < mib; i++) crc = crc32(zeroMiB, crc);
  const trailer = Buffer.alloc(8);
  trailer.writeUInt32LE(crc >>> 0, 0);
  trailer.writeUInt32LE((mib * MiB) % 2 ** 32, 4);
  return Buffer.concat([Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]), ...Array.from({ length: mib }, () => block), deflateRawSync(Buffer.alloc(0)), trailer]);
}

registerSuite({
  name: 'msl-wire',
  description: 'MSL wire layer: message splitting, payload chunks (AES-128-CBC + HMAC-SHA256), LZW/GZIP, bomb refusal',
  cases(): BenchCase[] {
    const ctx = new SymmetricCryptoContext('client1', randomBytes(16), randomBytes(32));
    const small = writePayloadChunk({ sequenceNumber: 1, messageId: 5211510174360933, endOfMessage: false, data: utf8('run A: hello via PSK handshake') }, ctx);
    const last = writePayloadChunk({ sequenceNumber: 2, messageId: 5211510174360933, endOfMessage: true, data: new Uint8Array(0) }, ctx);
    // A header-sized first object (capture 001's header is 1,1 KB), then the two chunks.
    const header = JSON.stringify({ entityauthdata: { scheme: 'PSK', authdata: { identity: 'client1' } }, headerdata: randomBytes(800).toString('base64'), signature: randomBytes(32).toString('base64') });
    const message = utf8(header + small + last);
    const smallJson = parseObject(small);
    const text = wordText(55_844);
    const lzw = compress('LZW', text);
    const gz = compress('GZIP', text);
    // 16 MiB: the splitter's default cap, as 256 chunk-like objects of 64 KiB.
    const big = utf8(Array.from({ length: 256 }, () => `{"payload":"${'A'.repeat(64 * 1024 - 40)}","signature":"AA=="}`).join(''));
    const bomb = gzipOfZeros(1024);
    return [
      { name: 'msl.split.message-1.5KB', op: 'message', run: () => void splitMessage(message) },
      { name: 'msl.split.message-16MiB', op: 'message', run: () => void splitMessage(big) },
      { name: 'msl.chunk.open', op: 'chunk', run: () => void openPayloadChunk(smallJson, ctx, { maxInflated: MiB }) },
      { name: 'msl.chunk.write', op: 'chunk', run: () => void writePayloadChunk({ sequenceNumber: 1, messageId: 1, endOfMessage: true, data: utf8('run A: hello via PSK handshake') }, ctx) },
      { name: 'msl.lzw.decode-55KB', op: 'payload', run: () => void uncompress('LZW', lzw, MiB) },
      { name: 'msl.lzw.encode-55KB', op: 'payload', run: () => void compress('LZW', text) },
      { name: 'msl.gzip.inflate-55KB', op: 'payload', run: () => void uncompress('GZIP', gz, MiB) },
      {
        name: 'msl.gzip.bomb-1GiB-refused',
        op: 'refusal',
        run: () => {
          try {
            uncompress('GZIP', bomb, 16 * MiB);
          } catch {
            return;
          }
          throw new Error('bomb accepted');
        },
      },
    ];
  },
});
