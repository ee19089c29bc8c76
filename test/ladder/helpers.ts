// Helpers shared by the protocol tests (not a test file itself).
import { createDecipheriv, randomBytes } from 'node:crypto';
import { expect } from 'vitest';
import { aesKeyUnwrap } from '../../electron/jwe/aesKeyWrap.js';
import type { RandomSource } from '../../electron/jwe/random.js';
import { LadderError, MslErrorCode } from '../../electron/ladder/errors.js';
import type { JweProfileName } from '../../electron/jwe/keyKinds.js';
import { keyResponseEnvelopeJson, parseExchangeRequestJson, type Mechanism } from '../../electron/ladder/messages.js';
import { importWrappingKey, LadderRequestor } from '../support/device.js';
import { LadderResponder, type ResponderResult, type RespondOptions } from '../../electron/ladder/responder.js';
import type { WrapdataFormat } from '../../electron/ladder/wrapdata.js';
import { MemoryKeySource } from '../support/memoryKeySource.js';
import { SeededRandom } from '../support/fixedRandom.js';

const CODES = new Set<string>(Object.values(MslErrorCode));

/** Asserts `error` is a LadderError with exactly this code and reason. */
export function expectLadderError(error: unknown, code: MslErrorCode, reason: string): void {
  expect(error).toBeInstanceOf(LadderError);
  const e = error as LadderError;
  expect({ code: e.code, reason: e.reason }).toEqual({ code, reason });
  expect(CODES.has(e.code)).toBe(true);
  expect(e.message.length).toBeGreaterThan(0);
}

/** Runs `fn`, which must throw; returns what it threw. */
export function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw, but the call returned');
}

export async function rejected(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection, but the promise resolved');
}

export const expectThrows = (fn: () => unknown, code: MslErrorCode, reason: string): void => expectLadderError(thrown(fn), code, reason);
export const expectRejects = async (p: Promise<unknown>, code: MslErrorCode, reason: string): Promise<void> => expectLadderError(await rejected(p), code, reason);

/** Remembers a copy of every draw, so tests know the keys the responder issued (it zeroes its own). */
export class RecordingRandom implements RandomSource {
  readonly draws: Buffer[] = [];
  constructor(private readonly inner: RandomSource) {}
  take(n: number): Buffer {
    const bytes = this.inner.take(n);
    this.draws.push(Buffer.from(bytes));
    return bytes;
  }
  /** The keys of the last exchange, laid out as the responder draws them. */
  lastKeys(): { kwrap: Buffer; kenc: Buffer; khmac: Buffer } {
    const d = this.draws.at(-1)!;
    return { kwrap: d.subarray(0, 16), kenc: d.subarray(16, 32), khmac: d.subarray(32, 64) };
  }
}

export interface Ladder {
  readonly source: MemoryKeySource;
  readonly responder: LadderResponder;
  readonly random: RecordingRandom;
  readonly kpw: Buffer;
  readonly kdw: Buffer;
  readonly kissuer: Buffer;
  readonly identity: string;
}

/** A responder over a MemoryKeySource holding one device (in group G) and one active Kissuer. */
export function ladder(format: WrapdataFormat = 'keyladder-v1', seed = 'ladder', identity = 'ESN-TEST-0001'): Ladder {
  const kpw = randomBytes(16), kdw = randomBytes(16), kissuer = randomBytes(16);
  const source = new MemoryKeySource().addGroup('G', kdw).addDevice(identity, kpw, 'G');
  source.addIssuer(kissuer, format);
  const random = new RecordingRandom(new SeededRandom(seed));
  return { source, responder: new LadderResponder(source, random), random, kpw, kdw, kissuer, identity };
}

export const requestJson = (identity: string, keydata: Record<string, unknown>): string =>
  JSON.stringify({ identity, keyrequestdata: { scheme: 'JWE_LADDER', keydata } });

/** Parses request text as a door would, answers it, returns the result. */
export function answer(l: Ladder, text: string, options: RespondOptions = {}): ResponderResult {
  const { identity, keyRequest } = parseExchangeRequestJson(text);
  return l.responder.respond(identity, keyRequest, options);
}

/** The response object a device receives (the `{"keyresponsedata":…}` envelope, parsed). */
export const envelope = (result: ResponderResult): unknown => JSON.parse(keyResponseEnvelopeJson(result.keydata));

export async function device(l: Ladder, mechanism: Exclude<Mechanism, 'WRAP'>, profile: JweProfileName): Promise<LadderRequestor> {
  const key = Uint8Array.from(mechanism === 'PSK' ? l.kpw : l.kdw);
  return new LadderRequestor(l.identity, await importWrappingKey(key), mechanism, profile);
}

/** One full exchange between a LadderRequestor and the responder, through JSON text both ways. */
export async function climb(l: Ladder, d: LadderRequestor) {
  const request = d.nextRequest();
  const result = answer(l, JSON.stringify(request), { profile: d.profile, kcv: true });
  const keys = await d.accept(envelope(result));
  return { request, result, keys, issued: l.random.lastKeys() };
}

// An independent decoder of MSL's JWE JSON serialization on node:crypto (not
// the requestor's code), so structure tests do not grade our code with itself.
export interface MslJweParts {
  readonly json: Record<string, unknown>;
  readonly recipient: Record<string, unknown>;
  readonly header: string;
  readonly encryptedKey: Buffer;
  readonly iv: Buffer;
  readonly ciphertext: Buffer;
  readonly tag: Buffer;
  readonly plaintext: Buffer;
}

export function openMslJwe(jweText: string, kek: Buffer): MslJweParts {
  const json = JSON.parse(jweText) as Record<string, unknown>;
  const recipient = (json['recipients'] as Record<string, unknown>[])[0]!;
  const b = (s: unknown) => Buffer.from(s as string, 'base64url');
  const encryptedKey = b(recipient['encrypted_key']);
  const iv = b(json['initialization_vector']);
  const ciphertext = b(json['ciphertext']);
  const tag = b(recipient['integrity_value']);
  const cek = aesKeyUnwrap(kek, encryptedKey);
  if (!cek) throw new Error('CEK does not unwrap');
  const decipher = createDecipheriv('aes-128-gcm', cek, iv);
  decipher.setAAD(Buffer.from(`${recipient['header'] as string}.${recipient['encrypted_key'] as string}.${json['initialization_vector'] as string}`, 'latin1'));
  decipher.setAuthTag(tag);
  const plaintext = Buffer.concat([decipher.update(ciphertext), decipher.final()]);
  return { json, recipient, header: b(recipient['header']).toString('latin1'), encryptedKey, iv, ciphertext, tag, plaintext };
}
