// The JOSE workbench (electron/services/joseTools.ts): inspect any JWE or
// JWS, decrypt or verify it with a key KeyLadder holds or a key file, and
// encrypt to a keyring recipient. A decrypted key is shown as its metadata
// and KCV only; other plaintexts are printed, or written to --out.

import { readFileSync } from 'node:fs';
import { checkOutput, writeNewFile } from '../../../db/files.js';
import type { AlgorithmVerdict } from '../../jose/algorithms.js';
import type { Header, JoseView, JwsPayloadView } from '../../jose/inspect.js';
import type { Withheld } from '../../jose/keyMembers.js';
import { withholds, type JwkSummary, type PlaintextSummary } from '../../jose/plaintextSummary.js';
import { utf8 } from '../../encoding/bytes.js';
import { visible } from '../../shared/visibleText.js';
import type { JoseInspection, JoseKeySource, KidHolder } from '../../services/joseTools.js';
import type { Command, Context } from '../command.js';
import { CliError, CliErrorCode, unreadable } from '../errors.js';
import { readJsonObject, readTextFile } from '../inputs.js';
import { readPassphrase } from '../passphrase.js';
import { count, outFile } from '../output.js';

const SECTION = 'JOSE' as const;

// Every value read from the object (kid, alg, payload text, a decrypted JWK's members) is untrusted:
// it goes through visible() where it enters a line, so it cannot forge, erase or hide lines.
const verdict = (v: AlgorithmVerdict): string =>
  `${visible(v.name, 80)} (${v.supported ? `supported${v.produced ? ', produced' : ''}` : `refused: ${v.reason}`})${v.warning ? ` warning: ${v.warning}` : ''}`;
const header = (name: string, h: Header | undefined): string[] => (h === undefined ? [] : [`  ${name}: ${JSON.stringify(h)}`]);
const bytes = (name: string, b: { length: number; hex: string }): string => `  ${name}: ${count(b.length, 'byte')}${b.length ? ` ${b.hex}` : ''}`;

function holderLine(holders: JoseInspection['holders'], index: number, signature = false): string[] {
  const h: KidHolder | undefined = holders?.find((x) => x.index === index);
  if (h === undefined) return [];
  const who = h.holder === 'own' ? 'this KeyLadder\'s own key' : h.holder === 'recipient' ? `keyring recipient ${visible(h.kid)}${h.label ? ` (${visible(h.label)})` : ''}` : 'no key KeyLadder holds';
  // A kid is what the signer wrote, not who signed: only jose verify says that (by the key's thumbprint).
  return [`  key: ${signature && h.holder !== 'none' ? `its kid names ${who}; not verified (jose verify says who signed)` : who}`];
}

const WITHHELD: Record<Withheld['reason'], string> = {
  'key-members': 'it holds key members',
  'keyladder-bundle': 'it is a KeyLadder export',
  nested: 'it nests too deep to read',
};

/** The payload as text, unless it holds key material: then its member names only. */
function payloadLine(payload: JwsPayloadView): string {
  const size = `  payload: ${count(payload.length, 'byte')}`;
  if (payload.withheld !== undefined) {
    const { reason, members } = payload.withheld;
    return `${size}, not shown: ${WITHHELD[reason]}${members.length ? ` (members ${members.map((m) => visible(m, 40)).join(', ')})` : ''}`;
  }
  return `${size}${payload.text === undefined ? '' : `: ${visible(payload.text)}`}`;
}

function viewLines(view: JoseView, holders: JoseInspection['holders']): string[] {
  if (view.type === 'jwe') {
    return [
      `JWE, ${view.serialization} serialization`,
      ...header('protected header', view.protectedHeader),
      ...header('shared unprotected header', view.sharedUnprotectedHeader),
      `  enc: ${verdict(view.enc)}`,
      bytes('iv', view.iv),
      ...(view.aad === undefined ? [] : [`${bytes('aad', view.aad)}${view.aad.text === undefined ? '' : ` (${JSON.stringify(view.aad.text)})`}`]),
      `  ciphertext: ${count(view.ciphertextLength, 'byte')}`,
      bytes('tag', view.tag),
      ...view.recipients.flatMap((r) => [
        `Recipient ${r.index}`,
        ...header('header', r.header),
        `  alg: ${verdict(r.alg)}`,
        ...(r.kid === undefined ? [] : [`  kid: ${visible(r.kid)}`]),
        `  encrypted key: ${count(r.encryptedKeyLength, 'byte')}`,
        ...holderLine(holders, r.index),
      ]),
    ];
  }
  if (view.type === 'jws') {
    return [
      `JWS, ${view.serialization} serialization`,
      payloadLine(view.payload),
      ...view.signatures.flatMap((s) => [
        `Signature ${s.index}`,
        ...header('protected header', s.protectedHeader),
        ...header('header', s.header),
        `  alg: ${verdict(s.alg)}`,
        ...(s.kid === undefined ? [] : [`  kid: ${visible(s.kid)}`]),
        `  signature: ${count(s.signatureLength, 'byte')}`,
        ...holderLine(holders, s.index, true),
      ]),
    ];
  }
  return [
    `MSL JWE (pre-RFC), ${view.serialization}`,
    ...header('header', view.header),
    `  alg: ${verdict(view.alg)}`,
    `  enc: ${verdict(view.enc)}`,
    `  encrypted key: ${count(view.encryptedKeyLength, 'byte')}`,
    bytes('iv', view.iv),
    `  aad: ${view.aad.length} characters (header.encrypted_key.iv)`,
    `  ciphertext: ${count(view.ciphertextLength, 'byte')}`,
    bytes('tag', view.tag),
  ];
}

const jwkLine = (k: JwkSummary): string =>
  [`kty ${visible(String(k.kty))}`, k.crv && `crv ${visible(String(k.crv))}`, k.alg && `alg ${visible(String(k.alg))}`, k.use && `use ${visible(String(k.use))}`, k.key_ops && `key_ops ${visible(k.key_ops.join(','))}`,
    k.ext !== undefined && `ext ${k.ext}`, k.extractable !== undefined && `extractable ${k.extractable}`, k.kid && `kid ${visible(String(k.kid))}`,
    k.kcv && `KCV ${k.kcv}`, k.thumbprint && `thumbprint ${k.thumbprint}`].filter(Boolean).join('  ');

function summaryLines(summary: PlaintextSummary): string[] {
  switch (summary.kind) {
    case 'jwk':
      return [`A ${summary.jwk.secret ? 'secret ' : ''}JWK (not shown): ${jwkLine(summary.jwk)}`];
    case 'jwks':
      return [`A JWKS of ${count(summary.keys.length, 'key')} (not shown):`, ...summary.keys.map((k) => `  ${jwkLine(k)}`)];
    case 'json':
      return [`JSON, ${count(summary.length, 'byte')}${summary.members ? `, members ${summary.members.map((m) => visible(m, 40)).join(', ')}` : ''}`];
    case 'jws': {
      const h = summary.header;
      const named = [`alg ${visible(String(h.alg))}`, h.kid && `kid ${visible(h.kid)}`, h.typ && `typ ${visible(h.typ)}`, h.cty && `cty ${visible(h.cty)}`].filter(Boolean).join(', ');
      return [`A compact JWS (${named}), ${count(summary.length, 'byte')}; its payload:`, ...summaryLines(summary.payload).map((line) => `  ${line}`)];
    }
    default:
      return [`${summary.kind === 'text' ? 'Text' : 'Binary'}, ${count(summary.length, 'byte')}`];
  }
}

/** The object from FILE, or stdin for "-". */
const readObject = (ctx: Context): string => readTextFile(ctx.args[0]!, 'JOSE object', ctx.io);

function keyFile(ctx: Context): JoseKeySource | undefined {
  const path = ctx.values['key-file'];
  if (path === undefined) return undefined;
  if (path === '-' && ctx.args[0] === '-') throw new CliError(CliErrorCode.USAGE_BAD_VALUE, 'The object and --key-file cannot both be read from stdin: give one of them as a file.');
  return { kind: 'jwk', jwk: readJsonObject(path, 'key', ctx.io) };
}

async function decryptSource(ctx: Context): Promise<JoseKeySource> {
  const given = [ctx.values['key-file'] && '--key-file', ctx.values.device && '--device', ctx.values.group && '--group', ctx.values['bundle-passphrase-file'] && '--bundle-passphrase-file'].filter(Boolean);
  if (given.length > 1) throw new CliError(CliErrorCode.USAGE_BAD_VALUE, `Give one key: ${given.join(' or ')}.`);
  if (ctx.values.device !== undefined) return { kind: 'device', identity: ctx.values.device };
  if (ctx.values.group !== undefined) return { kind: 'group', name: ctx.values.group };
  if (ctx.values['bundle-passphrase-file'] !== undefined) {
    const passphrase = await readPassphrase({ files: [{ flag: 'bundle-passphrase-file', path: ctx.values['bundle-passphrase-file'] }], env: [], what: 'JWE passphrase' }, ctx.io);
    return { kind: 'passphrase', passphrase };
  }
  return keyFile(ctx) ?? { kind: 'own' };
}

/**
 * Plaintext bytes to --out (a new file), else as text on stdout: but never what holds key material
 * (JSON that names key members, a KeyLadder bundle, an MSL key response, or a JWS whose payload is
 * one: base64url hides nothing), which would put keys on the terminal and in its scrollback.
 */
function plaintextOutput(ctx: Context): (plaintext: Uint8Array | undefined, opened: { readonly summary: PlaintextSummary; readonly preview?: string }) => string[] {
  const out = ctx.values.out;
  if (out !== undefined) checkOutput(out, ctx.values.force === true);
  return (plaintext, opened) => {
    if (plaintext === undefined) return [];
    try {
      if (out !== undefined) {
        writeNewFile(out, plaintext, ctx.values.force === true);
        return [`Wrote the plaintext to ${out}.`];
      }
      if (ctx.out.json) return [];
      if (withholds(opened.summary)) {
        const what = opened.summary.kind === 'jws' ? 'a JWS whose payload holds key material' : 'JSON that holds key material';
        return [`It is ${what}: add --out FILE to write it to a new, owner-only file, not to the terminal.`];
      }
      const text = Buffer.from(plaintext).toString('utf8');
      return Buffer.from(text, 'utf8').equals(plaintext) ? ['', text] : ['It is not text: add --out FILE to write it.'];
    } finally {
      plaintext.fill(0);
    }
  };
}

const skippedLines = (skipped: readonly { index: number; alg: string; kid?: string; reason: string }[]): string[] =>
  skipped.map((s) => `Skipped ${s.index} (${visible(s.alg, 80)}${s.kid ? `, kid ${visible(s.kid)}` : ''}): ${s.reason}`);

export const joseCommands: readonly Command[] = [
  {
    name: 'jose inspect', section: SECTION, params: 'FILE|-', arity: [1, 1], options: [],
    summary: 'every part of a JWE or JWS decoded (compact, JSON general or flattened, MSL\'s JWE), each algorithm judged',
    details: 'Headers are shown decoded; the encrypted key and ciphertext by length, the IV, AAD and tag in hex. Each algorithm\n' +
      'says "supported" or "refused" with the reason; each kid says whether this KeyLadder or a keyring recipient holds it.\n' +
      'A base64 value as MSL carries its JWEs (a ladder answer\'s wrapkey) is read as the JWE inside.',
    async run(ctx) {
      const text = readObject(ctx);
      await ctx.unlock();
      const inspection = await ctx.services.jose.inspect(text);
      ctx.out.print([...viewLines(inspection.view, inspection.holders), ...(inspection.hint ? [inspection.hint] : [])].join('\n'), inspection);
      return 0;
    },
  },
  {
    name: 'jose decrypt', section: SECTION, params: 'FILE|-', arity: [1, 1], options: ['key-file', 'device', 'group', 'bundle-passphrase-file', 'out', 'force'],
    summary: 'decrypt a JWE with this KeyLadder\'s own key of its kid, or --key-file, a device\'s Kpw or a group\'s Kdw',
    details: 'Without a key option, the JWE\'s kid chooses among this KeyLadder\'s own encryption keys (keyladder identity jwks\n' +
      'lists them). --device ID or --group NAME open MSL ladder answers (wrapkey) with the device\'s Kpw or the group\'s Kdw;\n' +
      '--bundle-passphrase-file a PBES2 JWE. A plaintext that is a JWK or JWKS is shown as metadata and KCV, never the key;\n' +
      'any other plaintext is printed, or written to --out FILE. RSA-OAEP (SHA-1) opens with a warning, RSA1_5 never.\n' +
      'A refusal names its step: JOSE_PARSE (JSON_TOO_DEEP beyond 64 levels), JOSE_UNSUPPORTED_ALG, NO_KEY_FOR_KID or\n' +
      'JOSE_INTEGRITY; PBES2_BUDGET_EXCEEDED when its PBES2 recipients ask for over 2,000,000 iterations in all.\n' +
      'Every attempt is audited.',
    async run(ctx) {
      const text = readObject(ctx);
      const source = await decryptSource(ctx);
      const write = plaintextOutput(ctx);
      await ctx.unlock();
      const result = await ctx.services.jose.decrypt(text, source);
      const { plaintext, ...shown } = result;
      for (const w of result.warnings) ctx.out.warn(w);
      const lines = [
        `Decrypted ${result.type === 'msl-jwe' ? 'the MSL JWE' : `recipient ${result.index}`} (${result.alg}${result.kid ? `, kid ${visible(result.kid)}` : ''}; ${result.enc}) with ${source.kind === 'own' ? 'this KeyLadder\'s own key' : source.kind === 'jwk' ? 'the key file' : `the ${source.kind}'s key`}.`,
        ...skippedLines(result.skipped),
        ...summaryLines(result.summary),
        ...write(plaintext, result),
      ];
      ctx.out.print(lines.join('\n'), { ...shown, ...(ctx.values.out !== undefined && plaintext !== undefined ? { file: ctx.values.out } : {}) });
      return 0;
    },
  },
  {
    name: 'jose verify', section: SECTION, params: 'FILE|-', arity: [1, 1], options: ['key-file'],
    summary: 'verify a JWS with this KeyLadder\'s or the keyring\'s signing key of its kid, or --key-file',
    async run(ctx) {
      const text = readObject(ctx);
      const source = keyFile(ctx) ?? ({ kind: 'own' } as const);
      await ctx.unlock();
      const result = await ctx.services.jose.verify(text, source as Extract<JoseKeySource, { kind: 'own' | 'jwk' }>);
      const { payload, ...shown } = result;
      payload?.fill(0);
      const who = `${result.signer.kind === 'own' ? 'this KeyLadder' : result.signer.kind === 'recipient' ? `keyring signer ${visible(result.signer.kid ?? '')}` : 'the key file\'s holder'}${result.signer.thumbprint ? ` (key thumbprint ${result.signer.thumbprint})` : ''}`;
      ctx.out.print([`Verified signature ${result.index} (${result.alg}${result.kid ? `, kid ${visible(result.kid)}` : ''}): signed by ${who}.`, ...skippedLines(result.skipped), ...summaryLines(result.summary), ...(result.preview ? [result.preview] : [])].join('\n'), shown);
      return 0;
    },
  },
  {
    name: 'jose encrypt', section: SECTION, params: 'FILE|-', arity: [1, 1], options: ['to', 'out', 'force'], required: ['to'],
    summary: 'a compact JWE of FILE to keyring recipient --to KID (RSA-OAEP-256 or ECDH-ES+A256KW, A256GCM, kid in the header)',
    async run(ctx) {
      const path = ctx.args[0]!;
      let plaintext: Uint8Array;
      try {
        plaintext = path === '-' ? utf8(ctx.io.readStdin()) : readFileSync(path);
      } catch {
        throw unreadable('plaintext', path === '-' ? 'stdin' : path);
      }
      const write = ctx.values.out === undefined ? undefined : outFile(ctx.values.out, ctx.values.force === true);
      await ctx.unlock();
      const kid = ctx.values.to!;
      let jwe: string;
      try {
        jwe = await ctx.services.jose.encrypt(plaintext, kid);
      } finally {
        plaintext.fill(0);
      }
      if (write) {
        await write(() => jwe);
        ctx.out.print(`Wrote a JWE to ${kid} to ${ctx.values.out}.`, { file: ctx.values.out, kid });
      } else {
        ctx.out.print(jwe, { jwe, kid });
      }
      return 0;
    },
  },
];
