// The keyring: recipients (factories' and peers' public keys, added from a
// file after their thumbprint is confirmed out of band) and this KeyLadder's
// own key pairs, whose public halves it hands out as a JWKS.

import { SIGNER_ROLES, type KeyUse } from '../../../db/repositories/keyring.js';
import type { OwnKeySummary, RecipientSummary } from '../../services/keyring.js';
import type { Command } from '../command.js';
import { confirmed } from '../command.js';
import { CliError, CliErrorCode } from '../errors.js';
import { readTextFile } from '../inputs.js';
import { oneOf, OPTIONS } from '../options.js';
import { visible } from '../../shared/visibleText.js';
import { listed } from '../output.js';

const SECTION = 'Keys you share' as const;

const recipientLine = (r: RecipientSummary): string =>
  `${r.kid}  ${r.use}${r.roles.length ? ` (${r.roles.join(',')})` : ''}${r.source ? ` source ${r.source}` : ''}  ${r.description}${r.alg ? ` ${r.alg}` : ''}  thumbprint ${r.thumbprint}${r.label ? `  "${r.label}"` : ''}  added ${r.addedAt}`;

const ownKeyLine = (k: OwnKeySummary): string => `${k.kid}  ${k.use}  ${k.alg}  ${k.status}  created ${k.createdAt}${k.retiredAt ? `  retired ${k.retiredAt}` : ''}`;

function keyUse(value: string): KeyUse {
  if (value !== 'sig' && value !== 'enc') throw new CliError(CliErrorCode.USAGE_BAD_VALUE, `The key to rotate is sig or enc, not "${visible(value, 20)}".`);
  return value;
}

export const recipientCommands: readonly Command[] = [
  {
    name: 'recipient add', section: SECTION, params: 'FILE', arity: [1, 1], options: ['kid', 'label', 'use', 'role', 'source'],
    summary: 'add a factory\'s or peer\'s public key (JWK, JWKS with --kid choosing one, or PEM; "-": stdin)',
    details: 'Weak or malformed keys are refused: RSA below 2048 bits or e other than 65537, EC off P-256/P-384\n' +
      'or off the curve, and any private member. --use enc: exports are encrypted to it (--to KID);\n' +
      '--use sig: imports it signed are accepted, of the kinds --role names: revocations (the default) and/or\n' +
      'issuer-export (Kissuer exports: say it only for a peer that shares Kissuer). A kid that names this\n' +
      'KeyLadder\'s own key is refused (KID_TAKEN). --source STORE_ID binds a revocations signer to the peer store\n' +
      'it speaks for: lists from that store signed by any other key are refused, and this key\'s for another store.\n' +
      'Compare the thumbprint it prints with the owner\'s, out of band.',
    async run(ctx) {
      const text = readTextFile(ctx.args[0]!, 'recipient key', ctx.io);
      const use = oneOf(ctx.values.use, 'use', OPTIONS.use.choices);
      const roles = ctx.values.role === undefined ? undefined : ctx.values.role.split(',').map((r) => oneOf(r.trim(), 'role', SIGNER_ROLES)!);
      await ctx.unlock();
      const r = await ctx.services.keyring.addRecipient(text, { ...(ctx.values.kid !== undefined ? { kid: ctx.values.kid } : {}), ...(use ? { use } : {}), ...(ctx.values.label !== undefined ? { label: ctx.values.label } : {}), ...(roles ? { roles } : {}), ...(ctx.values.source !== undefined ? { source: ctx.values.source } : {}) });
      ctx.out.print(`Added ${r.kid}: ${r.use === 'enc' ? 'exports are encrypted to it' : `imports it signs are accepted (${r.roles.join(', ')}${r.source ? `; revocation lists of ${r.source} only` : ''})`}, ${r.description}.\n` +
        `Thumbprint (RFC 7638, SHA-256): ${r.thumbprint}\nConfirm it with the key's owner by another channel (phone, in person) before you rely on it.`, r);
      return 0;
    },
  },
  {
    name: 'recipient list', section: SECTION, arity: [0, 0], options: [],
    summary: 'the keyring\'s recipients, with their thumbprints',
    async run(ctx) {
      await ctx.unlock();
      const list = ctx.services.keyring.recipients();
      ctx.out.print(list.map(recipientLine).join('\n') || '(no recipients: keyladder recipient add FILE --kid KID)', listed(list));
      return 0;
    },
  },
  {
    name: 'recipient show', section: SECTION, params: 'KID', arity: [1, 1], options: [],
    summary: 'one recipient: use, key, thumbprint, label',
    async run(ctx) {
      await ctx.unlock();
      const r = ctx.services.keyring.recipient(ctx.args[0]!);
      ctx.out.print(recipientLine(r), r);
      return 0;
    },
  },
  {
    name: 'recipient remove', section: SECTION, params: 'KID', arity: [1, 1], options: ['yes'],
    summary: 'take a recipient out of the keyring: no export goes to it, no import it signs is accepted',
    async run(ctx) {
      confirmed(ctx, `Removing ${visible(ctx.args[0]!, 128)} stops exports to it and imports it signed.`);
      await ctx.unlock();
      const r = ctx.services.keyring.removeRecipient(ctx.args[0]!);
      ctx.out.print(`Removed ${r.kid} (thumbprint ${r.thumbprint}).`, r);
      return 0;
    },
  },
  {
    name: 'recipient jwks', section: SECTION, arity: [0, 0], options: [],
    summary: 'the keyring\'s public keys, as a JWKS',
    async run(ctx) {
      await ctx.unlock();
      const jwks = ctx.services.keyring.recipientsJwks();
      ctx.out.print(JSON.stringify(jwks, null, 2), jwks);
      return 0;
    },
  },
];

export const identityCommands: readonly Command[] = [
  {
    name: 'identity jwks', section: SECTION, arity: [0, 0], options: [],
    summary: 'this KeyLadder\'s public keys, as a JWKS to hand to factories and peers',
    details: 'The sig key (ES256) signs every export made --to a recipient; the enc key (ECDH-ES+A256KW) is\n' +
      'what peers encrypt their exports to. Retired keys stay listed, so what they signed still verifies.',
    async run(ctx) {
      await ctx.unlock();
      const jwks = await ctx.services.keyring.identityJwks();
      ctx.out.print(JSON.stringify(jwks, null, 2), jwks);
      return 0;
    },
  },
  {
    name: 'identity list', section: SECTION, arity: [0, 0], options: [],
    summary: 'this KeyLadder\'s own keys: kid (its thumbprint), use, status',
    async run(ctx) {
      await ctx.unlock();
      const keys = await ctx.services.keyring.ownKeys();
      ctx.out.print(keys.map(ownKeyLine).join('\n'), listed(keys));
      return 0;
    },
  },
  {
    name: 'identity rotate', section: SECTION, params: 'sig|enc', arity: [1, 1], options: [],
    summary: 'a new own key pair for signing or encryption; the one before is kept, retired',
    details: 'Hand the new public JWKS (keyladder identity jwks) to factories and peers afterwards.',
    async run(ctx) {
      const use = keyUse(ctx.args[0]!);
      await ctx.unlock();
      const k = await ctx.services.keyring.rotateOwnKey(use);
      ctx.out.print(`Rotated: ${ownKeyLine(k)}\nHand the new public keys to your factories and peers: keyladder identity jwks.`, k);
      return 0;
    },
  },
];
