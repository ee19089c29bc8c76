// The fuzz harness shared by the sampled tests (test/fuzz/*.test.ts, run by
// `npm test`) and the long run (bench/fuzzLong.ts, `npm run fuzz:long`).
//
// Four targets: the request parser, the JWE decoder, the requestor's
// acceptKeyResponse, and the responder over a MemoryKeySource. Inputs are
// seeds (the MSL vectors and valid requests and responses made here) mutated
// by a short list of operations (bit flips, truncation, deletion, insertion,
// JSON structure changes, Base64-aware changes inside wrapdata and JWE parts,
// grafts between seeds), plus arbitrary strings and bytes.
//
// What counts as a bug (a FuzzViolation):
//   - any throw that is not a LadderError whose code is in MslErrorCode and
//     whose reason is a non-empty stable name (CAPITALS_AND_DIGITS);
//   - the key source changed by an exchange (snapshot before and after);
//   - a success that should be impossible: a JWE decrypting to a plaintext no
//     seed holds under that key, a response yielding keys no seed issued, the
//     responder answering a revoked or unknown device, or answering under a
//     key this world cannot account for (checked by unwrapping the response).
// Crashes and unhandled rejections are caught by the runners around this.

import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { LadderError, MslErrorCode } from '../../electron/ladder/errors.js';

import { KEY_KINDS, type JweProfileName, type KeyKind } from '../../electron/jwe/keyKinds.js';
import { keyResponseEnvelopeJson, parseExchangeRequestJson, type ExchangeRequest, type KeyResponseKeydata } from '../../electron/ladder/messages.js';
import { acceptKeyResponse, importWrappingKey, decryptJwe, type DeviceKey } from '../support/device.js';
import { LadderResponder } from '../../electron/ladder/responder.js';
import { systemRandom, type RandomSource } from '../../electron/jwe/random.js';
import { ENCODERS } from '../../electron/jwe/encrypt.js';
import { MemoryKeySource } from '../support/memoryKeySource.js';

// ---------------------------------------------------------------- violations

export class FuzzViolation extends Error {
  override readonly name = 'FuzzViolation';
}

const CODES = new Set<string>(Object.values(MslErrorCode));
const REASON = /^[A-Z][A-Z0-9_]*$/;

function describeThrown(e: unknown): string {
  if (e instanceof Error) return `${e.constructor.name}: ${e.message}\n${e.stack ?? ''}`;
  return `${typeof e}: ${String(e)}`;
}

/** Returns the outcome key `CODE/REASON` of an acceptable error, or throws a FuzzViolation. */
export function classify(e: unknown): string {
  if (e instanceof FuzzViolation) throw e;
  if (!(e instanceof LadderError)) throw new FuzzViolation(`threw something other than a LadderError: ${describeThrown(e)}`);
  if (!CODES.has(e.code)) throw new FuzzViolation(`LadderError with a code outside MslErrorCode: ${String(e.code)}`);
  if (typeof e.reason !== 'string' || !REASON.test(e.reason)) throw new FuzzViolation(`LadderError ${e.code} with an empty or unstable reason: ${JSON.stringify(e.reason)}`);
  if (typeof e.message !== 'string' || e.message.length === 0) throw new FuzzViolation(`LadderError ${e.code}/${e.reason} with no message`);
  return `${e.code}/${e.reason}`;
}

// ---------------------------------------------------------------- vectors

interface VectorJwe {
  jwe_exact: string;
  plaintext_jwk_exact: string;
}
interface ExchangeVector {
  inputs: { identity: string; request_keydata: Record<string, string>; 'msl_wrapping_key_hex (Kissuer)': string; kpw_hex?: string; prev_kwrap_hex?: string };
  response_keydata: Record<string, string>;
  expected: { 'kwrap_hex (new wrapping key)': string };
  'decoded (by MSL JsonWebEncryptionCryptoContext/AesKwCryptoContext)': Record<'wrapkey' | 'encryptionkey' | 'hmackey', VectorJwe>;
}

/** Finds the repository's test/vectors/msl from the source tree or from dist/. */
function vectorDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 8; i++) {
    try {
      readFileSync(join(dir, 'package.json'));
      return join(dir, 'test', 'vectors', 'msl');
    } catch {
      dir = dirname(dir);
    }
  }
  throw new Error('cannot find the repository root (package.json) to locate test/vectors/msl');
}

const loadVector = (name: string): ExchangeVector => JSON.parse(readFileSync(join(vectorDir(), name), 'utf8')) as ExchangeVector;
const hex = (s: string) => Buffer.from(s, 'hex');

// ---------------------------------------------------------------- the world

export interface JweSeed {
  readonly bytes: Uint8Array;
  readonly kekId: string;
  readonly profile: JweProfileName;
}

export interface ResponseSeed {
  readonly text: string;
  readonly kekId: string;
  readonly profile: JweProfileName;
  /** Each JWE member's key (raw) and plaintext, so a case can reseal a changed JWK under the right key. */
  readonly members: Record<ResealMember, { readonly kek: Buffer; readonly plaintext: string }>;
}
export type ResealMember = 'wrapkey' | 'encryptionkey' | 'hmackey';

/** Everything the fuzz targets share: one key source, one responder, seeds, and the keys behind them. */
export interface FuzzWorld {
  readonly source: MemoryKeySource;
  readonly responder: LadderResponder;
  readonly requestSeeds: readonly string[];
  readonly jweSeeds: readonly JweSeed[];
  readonly responseSeeds: readonly ResponseSeed[];
  /** CryptoKeys by id (device keys and every Kwrap behind a seed). */
  readonly keks: ReadonlyMap<string, DeviceKey>;
  readonly kekIds: readonly string[];
  /** The genuine plaintexts under each key (a successful decryption must yield one of them). */
  readonly plaintexts: ReadonlyMap<string, ReadonlySet<string>>;
  /** The genuine KCV triples of responses under each key. */
  readonly responseKcvs: ReadonlyMap<string, ReadonlySet<string>>;
  /** Kwrap (hex) inside each wrapdata this world issued, by the wrapdata's Base64. */
  readonly wrapdataKwrap: ReadonlyMap<string, string>;
  readonly identities: readonly string[];
  snapshot(): string;
}

const IDS = { device: 'FUZZ-ESN-1', revoked: 'FUZZ-REVOKED', loner: 'FUZZ-LONER', unknown: 'FUZZ-NOBODY' } as const;

/** Remembers a copy of every draw, so the world knows the keys it issued. */
class Recording implements RandomSource {
  last: Buffer = Buffer.alloc(0);
  take(n: number): Buffer {
    const b = systemRandom.take(n);
    this.last = Buffer.from(b);
    return b;
  }
  kwrap = () => this.last.subarray(0, 16);
}

const requestText = (identity: string, keydata: Record<string, string>) => JSON.stringify({ identity, keyrequestdata: { scheme: 'JWE_LADDER', keydata } });

export async function buildWorld(): Promise<FuzzWorld> {
  const v1 = loadVector('exchange-1-psk.json');
  const v2 = loadVector('exchange-2-wrap.json');
  const kpwVector = hex(v1.inputs.kpw_hex!);
  const kpw = randomBytes(16), kdw = randomBytes(16);

  const source = new MemoryKeySource().addGroup('G1', kdw);
  source.addDevice(v1.inputs.identity, kpwVector, 'G1');
  source.addDevice(IDS.device, kpw, 'G1');
  source.addDevice(IDS.revoked, randomBytes(16), 'G1');
  source.devices.get(IDS.revoked)!.revoked = true;
  source.addDevice(IDS.loner, randomBytes(16));

  const recording = new Recording();
  const seeding = new LadderResponder(source, recording);
  const wrapdataKwrap = new Map<string, string>();
  const issue = (identity: string) => {
    const result = seeding.respond(identity, { mechanism: 'PSK' });
    wrapdataKwrap.set(result.keydata.wrapdata, recording.kwrap().toString('hex'));
    return result.keydata.wrapdata;
  };
  wrapdataKwrap.set(v1.response_keydata['wrapdata']!, v1.expected['kwrap_hex (new wrapping key)']);
  wrapdataKwrap.set(v2.response_keydata['wrapdata']!, v2.expected['kwrap_hex (new wrapping key)']);

  // Generation 1: MSL's own Kissuer, bare format, in grace (the vectors' wrapdata still opens).
  source.addIssuer(hex(v1.inputs['msl_wrapping_key_hex (Kissuer)']), 'msl');
  const bareWrapdata = issue(IDS.device);
  // Generation 2: keyladder-v1, retired by the end.
  source.addIssuer(randomBytes(16), 'keyladder-v1');
  const retiredWrapdata = issue(IDS.device);
  // Generation 3: keyladder-v1, active.
  source.addIssuer(randomBytes(16), 'keyladder-v1');
  const activeWrapdata = issue(IDS.device);
  const revokedWrapdata = (() => {
    source.devices.get(IDS.revoked)!.revoked = false;
    const w = issue(IDS.revoked);
    source.devices.get(IDS.revoked)!.revoked = true;
    return w;
  })();
  source.setStatus(2, 'retired');

  const requestSeeds = [
    requestText(v1.inputs.identity, v1.inputs.request_keydata),
    requestText(v2.inputs.identity, v2.inputs.request_keydata),
    requestText(IDS.device, { mechanism: 'PSK' }),
    requestText(IDS.device, { mechanism: 'MGK' }),
    requestText(IDS.device, { mechanism: 'WRAP', wrapdata: activeWrapdata }),
    requestText(IDS.device, { mechanism: 'WRAP', wrapdata: bareWrapdata }),
    requestText(IDS.device, { mechanism: 'WRAP', wrapdata: retiredWrapdata }),
    requestText(IDS.revoked, { mechanism: 'WRAP', wrapdata: revokedWrapdata }),
    requestText(IDS.revoked, { mechanism: 'PSK' }),
    requestText(IDS.loner, { mechanism: 'MGK' }),
    requestText(IDS.unknown, { mechanism: 'PSK' }),
  ];

  // Keys behind the JWE and response seeds.
  const keks = new Map<string, DeviceKey>();
  const addKek = async (id: string, raw: Uint8Array) => {
    if (!keks.has(id)) keks.set(id, await importWrappingKey(Uint8Array.from(raw)));
    return id;
  };
  const plaintexts = new Map<string, Set<string>>();
  const responseKcvs = new Map<string, Set<string>>();
  const jweSeeds: JweSeed[] = [];
  const responseSeeds: ResponseSeed[] = [];
  const addJwe = (bytes: Uint8Array, kekId: string, profile: JweProfileName, plaintext: string) => {
    jweSeeds.push({ bytes, kekId, profile });
    if (!plaintexts.has(kekId)) plaintexts.set(kekId, new Set());
    plaintexts.get(kekId)!.add(plaintext);
  };
  const addResponse = async (keydata: Record<string, string>, kekId: string, profile: JweProfileName) => {
    const text = JSON.stringify({ keyresponsedata: { scheme: 'JWE_LADDER', keydata } });
    const keys = await acceptKeyResponse(JSON.parse(text), keks.get(kekId)!, profile);
    if (!responseKcvs.has(kekId)) responseKcvs.set(kekId, new Set());
    responseKcvs.get(kekId)!.add(JSON.stringify(keys.kcv));
    const open = async (member: ResealMember, kek: DeviceKey) =>
      new TextDecoder().decode(await decryptJwe(Uint8Array.from(Buffer.from(keydata[member]!, 'base64')), kek, profile));
    const wrapPlain = await open('wrapkey', keks.get(kekId)!);
    const kwrapRaw = Buffer.from((JSON.parse(wrapPlain) as { k: string }).k, 'base64url');
    const kwrap = await importWrappingKey(Uint8Array.from(kwrapRaw));
    responseSeeds.push({
      text,
      kekId,
      profile,
      members: {
        wrapkey: { kek: Buffer.from(kekId.slice('kwrap:'.length), 'hex'), plaintext: wrapPlain },
        encryptionkey: { kek: kwrapRaw, plaintext: await open('encryptionkey', kwrap) },
        hmackey: { kek: kwrapRaw, plaintext: await open('hmackey', kwrap) },
      },
    });
  };

  // MSL's vectors: exchange 1 under Kpw, exchange 2 under exchange 1's Kwrap.
  for (const [v, kprevHex] of [[v1, v1.inputs.kpw_hex!], [v2, v2.inputs.prev_kwrap_hex!]] as const) {
    const prev = await addKek(`kwrap:${kprevHex}`, hex(kprevHex));
    const next = await addKek(`kwrap:${v.expected['kwrap_hex (new wrapping key)']}`, hex(v.expected['kwrap_hex (new wrapping key)']));
    const d = v['decoded (by MSL JsonWebEncryptionCryptoContext/AesKwCryptoContext)'];
    addJwe(Buffer.from(d.wrapkey.jwe_exact), prev, 'msl', d.wrapkey.plaintext_jwk_exact);
    addJwe(Buffer.from(d.encryptionkey.jwe_exact), next, 'msl', d.encryptionkey.plaintext_jwk_exact);
    addJwe(Buffer.from(d.hmackey.jwe_exact), next, 'msl', d.hmackey.plaintext_jwk_exact);
    await addResponse(v.response_keydata, prev, 'msl');
  }
  // Ours, both profiles, PSK and MGK.
  const kpwId = await addKek(`kwrap:${kpw.toString('hex')}`, kpw);
  const kdwId = await addKek(`kwrap:${kdw.toString('hex')}`, kdw);
  for (const profile of ['msl', 'rfc7516'] as const) {
    for (const [mechanism, kprevId] of [['PSK', kpwId], ['MGK', kdwId]] as const) {
      const result = seeding.respond(IDS.device, { mechanism }, { profile });
      wrapdataKwrap.set(result.keydata.wrapdata, recording.kwrap().toString('hex'));
      const kwrapId = await addKek(`kwrap:${recording.kwrap().toString('hex')}`, recording.kwrap());
      for (const [member, kekId] of [['wrapkey', kprevId], ['encryptionkey', kwrapId], ['hmackey', kwrapId]] as const) {
        const bytes = Buffer.from(result.keydata[member], 'base64');
        const plaintext = new TextDecoder().decode(await decryptJwe(Uint8Array.from(bytes), keks.get(kekId)!, profile));
        addJwe(bytes, kekId, profile, plaintext);
      }
      await addResponse({ ...result.keydata }, kprevId, profile);
    }
  }

  const snapshot = (): string =>
    JSON.stringify({
      devices: [...source.devices].map(([id, d]) => [id, d.kpw.toString('hex'), d.group ?? null, d.revoked ?? false]),
      groups: [...source.groups].map(([name, key]) => [name, key.toString('hex')]),
      generations: source.generations.map((g) => [g.generation, g.format, g.status, g.key.toString('hex')]),
    });

  return {
    source,
    responder: new LadderResponder(source),
    requestSeeds,
    jweSeeds,
    responseSeeds,
    keks,
    kekIds: [...keks.keys()],
    plaintexts,
    responseKcvs,
    wrapdataKwrap,
    identities: [v1.inputs.identity, ...Object.values(IDS)],
    snapshot,
  };
}

// ---------------------------------------------------------------- mutations

export type ByteOp =
  | { readonly k: 'flip'; readonly at: number; readonly bit: number }
  | { readonly k: 'cut'; readonly at: number }
  | { readonly k: 'del'; readonly at: number; readonly len: number }
  | { readonly k: 'ins'; readonly at: number; readonly bytes: Uint8Array }
  | { readonly k: 'set'; readonly at: number; readonly byte: number };

export type TextOp =
  | { readonly k: 'flip'; readonly at: number; readonly bit: number }
  | { readonly k: 'cut'; readonly at: number }
  | { readonly k: 'del'; readonly at: number; readonly len: number }
  | { readonly k: 'ins'; readonly at: number; readonly text: string }
  | { readonly k: 'dup'; readonly at: number; readonly len: number };

type JsonAction =
  | { readonly a: 'delete' }
  | { readonly a: 'set'; readonly value: unknown }
  | { readonly a: 'add'; readonly key: string; readonly value: unknown }
  | { readonly a: 'string'; readonly ops: readonly TextOp[] }
  | { readonly a: 'wrap' };

export type JsonOp = { readonly k: 'json'; readonly path: readonly number[]; readonly action: JsonAction };
/** Mutates the bytes inside one Base64 value (wrapdata, a keydata member) or one base64url JWE part, and re-encodes canonically. */
export type InnerOp = { readonly k: 'inner'; readonly index: number; readonly ops: readonly ByteOp[] };
export type GraftOp = { readonly k: 'graft'; readonly part: number; readonly from: number };

const INTERESTING_TEXT = ['"', '{', '}', '[', ']', ',', ':', '=', '==', '-', '_', '+', '/', '.', '\\', '\\u0000', '\u0000', 'null', 'true', '1e309', '-0', '"PSK"', '"WRAP"', '"MGK"', 'JWE_LADDER', '\u00e9', '\ud800', '\u2028'];
const MEMBER_NAMES = ['identity', 'keyrequestdata', 'scheme', 'keydata', 'mechanism', 'wrapdata', 'wrapkey', 'encryptionkey', 'hmackey', 'keyresponsedata', 'recipients', 'header', 'encrypted_key', 'integrity_value', 'initialization_vector', 'ciphertext', 'alg', 'enc', 'kid', 'crit', 'zip', '__proto__', 'constructor', 'toString', ''];

const position = fc.nat({ max: 1 << 16 });
export const byteOpArb: fc.Arbitrary<ByteOp> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ k: fc.constant('flip' as const), at: position, bit: fc.nat(7) }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('cut' as const), at: position }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('del' as const), at: position, len: fc.integer({ min: 1, max: 16 }) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('ins' as const), at: position, bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }) }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('set' as const), at: position, byte: fc.nat(255) }) },
);
export const textOpArb: fc.Arbitrary<TextOp> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ k: fc.constant('flip' as const), at: position, bit: fc.nat(6) }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('cut' as const), at: position }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('del' as const), at: position, len: fc.integer({ min: 1, max: 16 }) }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('ins' as const), at: position, text: fc.oneof(fc.constantFrom(...INTERESTING_TEXT), fc.string({ unit: 'binary', maxLength: 8 })) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('dup' as const), at: position, len: fc.integer({ min: 1, max: 32 }) }) },
);
const jsonValueArb = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  fc.constantFrom('', 'PSK', 'MGK', 'WRAP', 'JWE_LADDER', 'A128KW', 'A128GCM', 'AAAA', 'AA==', '====', null, 0, -1, [], {}),
);
export const jsonOpArb: fc.Arbitrary<JsonOp> = fc.record({
  k: fc.constant('json' as const),
  path: fc.array(fc.nat(7), { maxLength: 4 }),
  action: fc.oneof(
    { weight: 2, arbitrary: fc.record({ a: fc.constant('delete' as const) }) },
    { weight: 2, arbitrary: fc.record({ a: fc.constant('set' as const), value: jsonValueArb }) },
    { weight: 2, arbitrary: fc.record({ a: fc.constant('add' as const), key: fc.oneof(fc.constantFrom(...MEMBER_NAMES), fc.string({ maxLength: 6 })), value: jsonValueArb }) },
    { weight: 3, arbitrary: fc.record({ a: fc.constant('string' as const), ops: fc.array(textOpArb, { minLength: 1, maxLength: 2 }) }) },
    { weight: 1, arbitrary: fc.record({ a: fc.constant('wrap' as const) }) },
  ),
});
const innerOpArb: fc.Arbitrary<InnerOp> = fc.record({ k: fc.constant('inner' as const), index: fc.nat(7), ops: fc.array(byteOpArb, { minLength: 1, maxLength: 3 }) });
const graftOpArb: fc.Arbitrary<GraftOp> = fc.record({ k: fc.constant('graft' as const), part: fc.nat(4), from: fc.nat(63) });

const clamp = (at: number, length: number) => at % (length + 1);

export function applyByteOp(b: Uint8Array, op: ByteOp): Uint8Array {
  const at = clamp(op.at, b.length);
  switch (op.k) {
    case 'flip': {
      if (b.length === 0) return b;
      const out = Uint8Array.from(b);
      out[at % b.length]! ^= 1 << op.bit;
      return out;
    }
    case 'cut':
      return b.slice(0, at);
    case 'del':
      return Uint8Array.from([...b.subarray(0, at), ...b.subarray(at + op.len)]);
    case 'ins':
      return Uint8Array.from([...b.subarray(0, at), ...op.bytes, ...b.subarray(at)]);
    case 'set': {
      if (b.length === 0) return b;
      const out = Uint8Array.from(b);
      out[at % b.length] = op.byte;
      return out;
    }
  }
}

export function applyTextOp(s: string, op: TextOp): string {
  const at = clamp(op.at, s.length);
  switch (op.k) {
    case 'flip': {
      if (s.length === 0) return s;
      const i = at % s.length;
      return s.slice(0, i) + String.fromCharCode(s.charCodeAt(i) ^ (1 << op.bit)) + s.slice(i + 1);
    }
    case 'cut':
      return s.slice(0, at);
    case 'del':
      return s.slice(0, at) + s.slice(at + op.len);
    case 'ins':
      return s.slice(0, at) + op.text + s.slice(at);
    case 'dup':
      return s.slice(0, at + op.len) + s.slice(at, at + op.len) + s.slice(at + op.len);
  }
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** Applies a structural change at a path of the JSON text; text that is not JSON is left as is. */
export function applyJsonOp(text: string, op: JsonOp): string {
  let root: Json;
  try {
    root = JSON.parse(text) as Json;
  } catch {
    return text;
  }
  const holder: { [k: string]: Json } = { root };
  let parent: { [k: string]: Json } | Json[] = holder;
  let key: string | number = 'root';
  for (const step of op.path) {
    const node: Json = (parent as Record<string, Json>)[key as string]!;
    if (node === null || typeof node !== 'object') break;
    const keys: (string | number)[] = Array.isArray(node) ? node.map((_, i) => i) : Object.keys(node);
    if (keys.length === 0) break;
    parent = node;
    key = keys[step % keys.length]!;
  }
  const target = (parent as Record<string, Json>)[key as string]!;
  const set = (value: unknown) => Object.defineProperty(parent, key, { value, enumerable: true, writable: true, configurable: true });
  switch (op.action.a) {
    case 'delete':
      if (Array.isArray(parent)) parent.splice(key as number, 1);
      else if (parent !== holder) delete (parent as Record<string, Json>)[key as string];
      break;
    case 'set':
      set(op.action.value);
      break;
    case 'add':
      if (target !== null && typeof target === 'object' && !Array.isArray(target)) {
        Object.defineProperty(target, op.action.key, { value: op.action.value, enumerable: true, writable: true, configurable: true });
      } else if (Array.isArray(target)) target.push(op.action.value as Json);
      else set({ [op.action.key]: target });
      break;
    case 'string':
      if (typeof target === 'string') set(op.action.ops.reduce(applyTextOp, target));
      else set(op.action.ops.reduce(applyTextOp, JSON.stringify(target) ?? ''));
      break;
    case 'wrap':
      set([target]);
      break;
  }
  return JSON.stringify(holder['root']) ?? '';
}

// JWE parts: the MSL JSON serialization or the compact form.
const PART_KEYS = [['recipients', 0, 'header'], ['recipients', 0, 'encrypted_key'], ['initialization_vector'], ['ciphertext'], ['recipients', 0, 'integrity_value']] as const;

function jweParts(text: string): { parts: string[]; rebuild: (parts: string[]) => string } | undefined {
  if (!text.startsWith('{')) {
    const parts = text.split('.');
    return { parts, rebuild: (p) => p.join('.') };
  }
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  const get = (path: readonly (string | number)[]) => path.reduce<unknown>((o, k) => (o !== null && typeof o === 'object' ? (o as Record<string, unknown>)[k] : undefined), json);
  const parts = PART_KEYS.map((p) => get(p));
  if (!parts.every((p) => typeof p === 'string')) return undefined;
  return {
    parts: parts as string[],
    rebuild: (p) => {
      const copy = JSON.parse(text) as Record<string, unknown>;
      PART_KEYS.forEach((path, i) => {
        const holder = path.slice(0, -1).reduce<unknown>((o, k) => (o as Record<string, unknown>)[k], copy) as Record<string, unknown>;
        holder[path[path.length - 1] as string] = p[i];
      });
      return JSON.stringify(copy);
    },
  };
}

const utf8 = new TextEncoder();
const latin1 = (b: Uint8Array) => Buffer.from(b).toString('latin1');

/** A JWE op: byte-level on the serialization, structural on its JSON, inside a part, or a part grafted from another seed. */
export type JweOp = { readonly k: 'bytes'; readonly op: ByteOp } | JsonOp | InnerOp | GraftOp;
export const jweOpArb: fc.Arbitrary<JweOp> = fc.oneof(
  { weight: 3, arbitrary: byteOpArb.map((op) => ({ k: 'bytes' as const, op })) },
  { weight: 2, arbitrary: jsonOpArb },
  { weight: 4, arbitrary: innerOpArb },
  { weight: 1, arbitrary: graftOpArb },
);

export function applyJweOp(bytes: Uint8Array, op: JweOp, seeds: readonly JweSeed[]): Uint8Array {
  switch (op.k) {
    case 'bytes':
      return applyByteOp(bytes, op.op);
    case 'json':
      return Buffer.from(applyJsonOp(latin1(bytes), op), 'latin1');
    case 'inner':
    case 'graft': {
      const found = jweParts(latin1(bytes));
      if (!found || found.parts.length === 0) return bytes;
      const i = (op.k === 'inner' ? op.index : op.part) % found.parts.length;
      const parts = [...found.parts];
      if (op.k === 'inner') {
        const inner = op.ops.reduce<Uint8Array>(applyByteOp, Uint8Array.from(Buffer.from(parts[i]!, 'base64url')));
        parts[i] = Buffer.from(inner).toString('base64url');
      } else {
        const donor = jweParts(latin1(seeds[op.from % seeds.length]!.bytes));
        if (!donor || donor.parts[i] === undefined) return bytes;
        parts[i] = donor.parts[i]!;
      }
      return Buffer.from(found.rebuild(parts), 'latin1');
    }
  }
}

/** A request op: on its text, on its JSON, inside its wrapdata (Base64-aware), or a new identity. */
export type RequestOp = { readonly k: 'text'; readonly op: TextOp } | JsonOp | InnerOp | { readonly k: 'identity'; readonly identity: string };
export const requestOpArb = (identities: readonly string[]): fc.Arbitrary<RequestOp> =>
  fc.oneof(
    { weight: 3, arbitrary: textOpArb.map((op) => ({ k: 'text' as const, op })) },
    { weight: 3, arbitrary: jsonOpArb },
    { weight: 3, arbitrary: innerOpArb },
    { weight: 1, arbitrary: fc.oneof(fc.constantFrom(...identities), fc.string({ maxLength: 12 })).map((identity) => ({ k: 'identity' as const, identity })) },
  );

function mapJson(text: string, change: (json: Record<string, unknown>) => void): string {
  try {
    const json = JSON.parse(text) as Record<string, unknown>;
    if (json === null || typeof json !== 'object') return text;
    change(json);
    return JSON.stringify(json);
  } catch {
    return text;
  }
}

export function applyRequestOp(text: string, op: RequestOp): string {
  switch (op.k) {
    case 'text':
      return applyTextOp(text, op.op);
    case 'json':
      return applyJsonOp(text, op);
    case 'identity':
      return mapJson(text, (j) => void (j['identity'] = op.identity));
    case 'inner':
      return mapJson(text, (j) => {
        const keydata = (j['keyrequestdata'] as Record<string, unknown> | undefined)?.['keydata'] as Record<string, unknown> | undefined;
        if (keydata && typeof keydata['wrapdata'] === 'string') {
          keydata['wrapdata'] = Buffer.from(op.ops.reduce<Uint8Array>(applyByteOp, Uint8Array.from(Buffer.from(keydata['wrapdata'], 'base64')))).toString('base64');
        }
      });
  }
}

/** A response op: on its text, on its JSON, or on one keydata member's JWE (decoded, mutated, re-encoded). */
export type ResponseOp = { readonly k: 'text'; readonly op: TextOp } | JsonOp | { readonly k: 'member'; readonly member: number; readonly ops: readonly JweOp[] };
export const responseOpArb: fc.Arbitrary<ResponseOp> = fc.oneof(
  { weight: 2, arbitrary: textOpArb.map((op) => ({ k: 'text' as const, op })) },
  { weight: 3, arbitrary: jsonOpArb },
  { weight: 5, arbitrary: fc.record({ k: fc.constant('member' as const), member: fc.nat(3), ops: fc.array(jweOpArb, { minLength: 1, maxLength: 3 }) }) },
);
const MEMBERS = ['wrapkey', 'wrapdata', 'encryptionkey', 'hmackey'] as const;
const RESEAL_MEMBERS: readonly ResealMember[] = ['wrapkey', 'encryptionkey', 'hmackey'];

/**
 * Changes the JWK inside one member and seals it again, properly, under the
 * key that member is sealed under: this reaches the requestor's JWK checks,
 * which no mutation of the ciphertext can (the plaintext is authenticated).
 */
export type ResealOp = { readonly k: 'reseal'; readonly member: number; readonly ops: readonly ({ readonly k: 'text'; readonly op: TextOp } | JsonOp)[]; readonly salt: number };
export const resealOpArb: fc.Arbitrary<ResealOp> = fc.record({
  k: fc.constant('reseal' as const),
  member: fc.nat(2),
  ops: fc.array(fc.oneof(textOpArb.map((op) => ({ k: 'text' as const, op })), jsonOpArb), { minLength: 1, maxLength: 3 }),
  salt: fc.nat(255),
});

export function applyResponseOp(text: string, op: ResponseOp, seeds: readonly JweSeed[]): string {
  switch (op.k) {
    case 'text':
      return applyTextOp(text, op.op);
    case 'json':
      return applyJsonOp(text, op);
    case 'member':
      return mapJson(text, (j) => {
        const keydata = (j['keyresponsedata'] as Record<string, unknown> | undefined)?.['keydata'] as Record<string, unknown> | undefined;
        const name = MEMBERS[op.member % MEMBERS.length]!;
        if (keydata && typeof keydata[name] === 'string') {
          const jwe = op.ops.reduce<Uint8Array>((b, o) => applyJweOp(b, o, seeds), Uint8Array.from(Buffer.from(keydata[name], 'base64')));
          keydata[name] = Buffer.from(jwe).toString('base64');
        }
      });
  }
}

/** Applies a reseal; returns the new text and the plaintext now sealed in that member (if the member was there). */
export function applyReseal(text: string, op: ResealOp, seed: ResponseSeed): { text: string; member?: ResealMember; plaintext?: string } {
  const member = RESEAL_MEMBERS[op.member % RESEAL_MEMBERS.length]!;
  const { kek, plaintext: original } = seed.members[member];
  const plaintext = op.ops.reduce((t, o) => (o.k === 'text' ? applyTextOp(t, o.op) : applyJsonOp(t, o)), original);
  let sealed = false;
  const out = mapJson(text, (j) => {
    const keydata = (j['keyresponsedata'] as Record<string, unknown> | undefined)?.['keydata'] as Record<string, unknown> | undefined;
    if (keydata && typeof keydata === 'object' && member in keydata) {
      const cek = Buffer.alloc(16, op.salt), iv = Buffer.alloc(12, op.salt ^ 0x5a);
      keydata[member] = Buffer.from(ENCODERS[seed.profile].encrypt(kek, Buffer.from(plaintext, 'utf8'), cek, iv), 'latin1').toString('base64');
      sealed = true;
    }
  });
  return sealed ? { text: out, member, plaintext } : { text: out };
}

// ---------------------------------------------------------------- targets

export interface Outcomes {
  readonly counts: Map<string, number>;
  /** The slowest single case, in milliseconds. */
  slowestMs: number;
}

export const newOutcomes = (): Outcomes => ({ counts: new Map(), slowestMs: 0 });
const record = (o: Outcomes, key: string) => o.counts.set(key, (o.counts.get(key) ?? 0) + 1);

export interface FuzzTarget<T> {
  readonly name: string;
  readonly arbitrary: fc.Arbitrary<T>;
  /** Runs one case; returns the outcome (`ok` or `CODE/REASON`); throws a FuzzViolation for a bug. */
  run(input: T): string | Promise<string>;
}

/** Mostly the two real profiles; now and then a name a door might pass through unchecked. */
const profileArb: fc.Arbitrary<JweProfileName> = fc.oneof(
  { weight: 30, arbitrary: fc.constantFrom('msl' as const, 'rfc7516' as const) },
  { weight: 1, arbitrary: fc.oneof(fc.constantFrom('__proto__', 'constructor', 'toString', 'MSL', 'rfc 7516', ''), fc.string({ maxLength: 8 })).map((p) => p as JweProfileName) },
);

export interface TargetOptions {
  /** Unwrap every n-th successful responder answer with the requestor and compare KCVs (1 = every one). */
  readonly deepEvery?: number;
}

/** Any string, JSON text, or a mutated seed: the request parser's input. */
function requestTextArb(world: FuzzWorld): fc.Arbitrary<string> {
  const seedIndex = fc.nat(world.requestSeeds.length - 1);
  return fc.oneof(
    { weight: 8, arbitrary: fc.tuple(seedIndex, fc.array(requestOpArb(world.identities), { minLength: 1, maxLength: 4 })).map(([i, ops]) => ops.reduce(applyRequestOp, world.requestSeeds[i]!)) },
    { weight: 1, arbitrary: seedIndex.map((i) => world.requestSeeds[i]!) },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 200 }) },
    { weight: 1, arbitrary: fc.json({ maxDepth: 4 }) },
    {
      weight: 1,
      arbitrary: fc
        .tuple(fc.constantFrom(...world.identities), fc.jsonValue({ maxDepth: 3 }))
        .map(([identity, keydata]) => JSON.stringify({ identity, keyrequestdata: { scheme: 'JWE_LADDER', keydata } })),
    },
  );
}

export function parserTarget(world: FuzzWorld): FuzzTarget<string> {
  return {
    name: 'parser',
    arbitrary: requestTextArb(world),
    run(text) {
      let parsed: ExchangeRequest;
      try {
        parsed = parseExchangeRequestJson(text);
      } catch (e) {
        return classify(e);
      }
      // What the parser lets through must be well-formed.
      const { identity, keyRequest } = parsed;
      if (!/^[\x21-\x7e]{1,256}$/.test(identity)) throw new FuzzViolation(`parser accepted identity ${JSON.stringify(identity)}`);
      if (!['PSK', 'MGK', 'WRAP'].includes(keyRequest.mechanism)) throw new FuzzViolation(`parser accepted mechanism ${JSON.stringify(keyRequest.mechanism)}`);
      if ((keyRequest.mechanism === 'WRAP') !== (keyRequest.wrapdata !== undefined && keyRequest.wrapdata.length > 0)) throw new FuzzViolation('parser accepted wrapdata that does not fit the mechanism');
      return 'ok';
    },
  };
}

export function responderTarget(world: FuzzWorld, options: TargetOptions = {}): FuzzTarget<{ text: string; profile: JweProfileName }> {
  const deepEvery = options.deepEvery ?? 1;
  let successes = 0;
  const before = world.snapshot();
  return {
    name: 'responder',
    arbitrary: fc.record({ text: requestTextArb(world), profile: profileArb }),
    async run({ text, profile }) {
      let outcome: string;
      try {
        const { identity, keyRequest } = parseExchangeRequestJson(text);
        const result = world.responder.respond(identity, keyRequest, { profile, kcv: true });
        outcome = 'ok';
        const device = world.source.devices.get(identity);
        if (device?.revoked) throw new FuzzViolation(`the responder answered revoked device ${identity}`);
        if (keyRequest.mechanism !== 'WRAP' && device === undefined) throw new FuzzViolation(`the responder answered unknown device ${identity} with ${keyRequest.mechanism}`);
        if (++successes % deepEvery === 0) await deepCheck(world, identity, keyRequest, result.keydata, result.kcv!, profile);
      } catch (e) {
        outcome = classify(e);
      }
      if (world.snapshot() !== before) throw new FuzzViolation('the key source changed during an exchange');
      return outcome;
    },
  };
}

/** Unwraps a successful answer with the key it must be under, and checks both sides hold the same keys. */
async function deepCheck(world: FuzzWorld, identity: string, request: ExchangeRequest['keyRequest'], keydata: KeyResponseKeydata, kcv: object, profile: JweProfileName): Promise<void> {
  let kprevHex: string | undefined;
  const device = world.source.devices.get(identity);
  if (request.mechanism === 'PSK') kprevHex = device?.kpw.toString('hex');
  else if (request.mechanism === 'MGK') kprevHex = device?.group === undefined ? undefined : world.source.groups.get(device.group)?.toString('hex');
  else kprevHex = world.wrapdataKwrap.get(Buffer.from(request.wrapdata!).toString('base64'));
  if (kprevHex === undefined) throw new FuzzViolation(`the responder answered ${request.mechanism} for ${identity} under a key this world cannot account for`);
  const kprev = await importWrappingKey(Uint8Array.from(Buffer.from(kprevHex, 'hex')));
  let keys;
  try {
    keys = await acceptKeyResponse(JSON.parse(keyResponseEnvelopeJson(keydata)), kprev, profile);
  } catch (e) {
    throw new FuzzViolation(`the requestor refused a genuine answer (${classify(e)})`);
  }
  if (JSON.stringify(keys.kcv) !== JSON.stringify(kcv)) throw new FuzzViolation('device and responder KCVs differ');
}

export function jweTarget(world: FuzzWorld): FuzzTarget<{ bytes: Uint8Array; kekId: string; profile: JweProfileName }> {
  const seeds = world.jweSeeds;
  const mutated = fc.tuple(fc.nat(seeds.length - 1), fc.array(jweOpArb, { minLength: 1, maxLength: 4 }), fc.nat(3)).map(([i, ops, keyChoice]) => {
    const seed = seeds[i]!;
    // Mostly under the seed's own key and profile (so mutations reach the cryptography), sometimes not.
    const kekId = keyChoice === 0 ? world.kekIds[i % world.kekIds.length]! : seed.kekId;
    const profile = keyChoice === 1 ? (seed.profile === 'msl' ? 'rfc7516' : 'msl') : seed.profile;
    return { bytes: ops.reduce<Uint8Array>((b, op) => applyJweOp(b, op, seeds), seed.bytes), kekId, profile } as const;
  });
  const arbitrary = fc.oneof(
    { weight: 10, arbitrary: mutated },
    { weight: 1, arbitrary: fc.record({ bytes: fc.uint8Array({ maxLength: 300 }), kekId: fc.constantFrom(...world.kekIds), profile: profileArb }) },
    { weight: 1, arbitrary: fc.record({ bytes: fc.string({ unit: 'binary', maxLength: 300 }).map((s) => utf8.encode(s)), kekId: fc.constantFrom(...world.kekIds), profile: profileArb }) },
  );
  return {
    name: 'jwe',
    arbitrary,
    async run({ bytes, kekId, profile }) {
      let plaintext: Uint8Array;
      try {
        plaintext = await decryptJwe(bytes, world.keks.get(kekId)!, profile);
      } catch (e) {
        return classify(e);
      }
      const text = new TextDecoder().decode(plaintext);
      if (!world.plaintexts.get(kekId)?.has(text)) throw new FuzzViolation(`a mutated JWE decrypted to a plaintext no seed holds under ${kekId}`);
      return 'ok';
    },
  };
}

export interface ResponseCase {
  readonly seed: number;
  readonly text: string;
  /** Members whose JWK was changed and sealed again, with the plaintext now inside. */
  readonly resealed: Readonly<Partial<Record<ResealMember, string>>>;
}

const EXPECTED_JWK: Record<ResealMember, KeyKind> = { wrapkey: 'wrap', encryptionkey: 'enc', hmackey: 'hmac' };

const sameOps = (ops: unknown, expected: readonly string[]): boolean =>
  Array.isArray(ops) && ops.length === expected.length && new Set(ops).size === ops.length && expected.every((op) => ops.includes(op));

/** A JWK the requestor accepted must be one its kind allows: the right kty, alg, length, and non-extractable. */
function checkAcceptedJwk(member: ResealMember, plaintext: string, profile: JweProfileName): void {
  const spec = KEY_KINDS[EXPECTED_JWK[member]];
  let jwk: Record<string, unknown>;
  try {
    jwk = JSON.parse(plaintext) as Record<string, unknown>;
  } catch {
    throw new FuzzViolation(`the requestor accepted a ${member} whose plaintext is not JSON`);
  }
  const k = typeof jwk['k'] === 'string' ? Buffer.from(jwk['k'], 'base64url') : undefined;
  const problems = [
    jwk['kty'] !== 'oct' && 'kty',
    jwk['alg'] !== spec.jwkAlg && 'alg',
    (k === undefined || k.length !== spec.length || k.toString('base64url') !== jwk['k']) && 'k',
    (profile === 'rfc7516' ? jwk['ext'] !== false : jwk['extractable'] !== undefined && jwk['extractable'] !== false) && 'extractable',
    (profile === 'msl' && jwk['use'] !== undefined ? jwk['use'] !== spec.mslUse : !sameOps(jwk['key_ops'], spec.keyOps)) && 'usage',
  ].filter(Boolean);
  if (problems.length > 0) throw new FuzzViolation(`the requestor accepted a ${member} JWK with a wrong ${problems.join(', ')}: ${plaintext}`);
}

export function responseTarget(world: FuzzWorld): FuzzTarget<ResponseCase> {
  const seeds = world.responseSeeds;
  const mutated = fc
    .tuple(fc.nat(seeds.length - 1), fc.array(responseOpArb, { maxLength: 3 }), fc.array(resealOpArb, { maxLength: 2 }))
    .filter(([, ops, reseals]) => ops.length + reseals.length > 0)
    .map(([seed, ops, reseals]) => {
      // Reseals go last, so the plaintext recorded is the one sealed in the final text.
      let text = ops.reduce((t, op) => applyResponseOp(t, op, world.jweSeeds), seeds[seed]!.text);
      const resealed: Partial<Record<ResealMember, string>> = {};
      for (const op of reseals) {
        const r = applyReseal(text, op, seeds[seed]!);
        text = r.text;
        if (r.member !== undefined) resealed[r.member] = r.plaintext!;
      }
      return { seed, text, resealed };
    });
  const arbitrary = fc.oneof(
    { weight: 10, arbitrary: mutated },
    { weight: 1, arbitrary: fc.tuple(fc.nat(seeds.length - 1), fc.json({ maxDepth: 4 })).map(([seed, text]) => ({ seed, text, resealed: {} })) },
  );
  return {
    name: 'response',
    arbitrary,
    async run({ text, seed, resealed }) {
      const { kekId, profile } = seeds[seed]!;
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch {
        return 'not-json';
      }
      let kcv: object;
      try {
        kcv = (await acceptKeyResponse(value, world.keks.get(kekId)!, profile)).kcv;
      } catch (e) {
        return classify(e);
      }
      const changed = Object.entries(resealed) as [ResealMember, string][];
      if (changed.length === 0) {
        if (!world.responseKcvs.get(kekId)?.has(JSON.stringify(kcv))) throw new FuzzViolation(`a mutated response yielded keys no seed issued under ${kekId}`);
        return 'ok';
      }
      for (const [member, plaintext] of changed) checkAcceptedJwk(member, plaintext, profile);
      return 'ok-resealed';
    },
  };
}

// ---------------------------------------------------------------- running

export interface RunResult {
  readonly target: string;
  readonly cases: number;
  readonly seconds: number;
  readonly outcomes: Outcomes;
}

/** Runs `numRuns` cases of a target with fast-check (which shrinks any failure); throws on the first violation. */
export async function runTarget<T>(target: FuzzTarget<T>, numRuns: number, seed: number): Promise<RunResult> {
  const outcomes = newOutcomes();
  let cases = 0;
  const start = performance.now();
  const property = fc.asyncProperty(target.arbitrary, async (input) => {
    const t0 = performance.now();
    const outcome = await target.run(input);
    const ms = performance.now() - t0;
    if (ms > outcomes.slowestMs) outcomes.slowestMs = ms;
    record(outcomes, outcome);
    cases++;
  });
  await fc.assert(property, { numRuns, seed, verbose: 1, endOnFailure: false });
  return { target: target.name, cases, seconds: (performance.now() - start) / 1000, outcomes };
}

export function formatResult(r: RunResult): string[] {
  const lines = [`${r.target}: ${r.cases} cases in ${r.seconds.toFixed(1)} s (${Math.round(r.cases / r.seconds)} cases/s, slowest ${r.outcomes.slowestMs.toFixed(1)} ms), 0 violations`];
  for (const [key, n] of [...r.outcomes.counts].sort((a, b) => b[1] - a[1])) lines.push(`  ${key}: ${n}`);
  return lines;
}
