// The MSL server's own keys and settings (issue 20): its identity (the RSA key
// pair MSL clients pin), the master-token keys, and the master-token times.
// What `identity show` prints is what an MSL client's config takes.

import type { Command, Context } from '../command.js';
import { confirmed, reasonOf } from '../command.js';
import { CliError, CliErrorCode } from '../errors.js';
import { readJsonObject, readTextFile } from '../inputs.js';
import { int } from '../options.js';
import { visible } from '../../shared/visibleText.js';
import { mslClientConfigLines, type MslIdentityView, type MslTokenKeyView } from '../../services/mslKeys.js';
import { MAX_MSL_TIME_SECONDS, MAX_NON_REPLAYABLE_WINDOW } from '../../services/mslSettings.js';
import { listed } from '../output.js';

const SECTION = 'MSL server' as const;

export const mslIdentityLine = (i: MslIdentityView): string =>
  `gen ${i.generation}  ${i.status.padEnd(9)} ${i.name}  key id ${i.keyId}  RSA ${i.bits}  thumbprint ${i.thumbprint}  ${i.origin}  created ${i.createdAt}${i.retiredAt ? `  retired ${i.retiredAt}` : ''}${i.destroyedAt ? `  destroyed ${i.destroyedAt}` : ''}`;

export const mslTokenKeyLine = (k: MslTokenKeyView): string =>
  `gen ${k.generation}  ${k.status.padEnd(9)} KCV enc ${k.kcvEnc ?? '------'} hmac ${k.kcvHmac ?? '------'}  ${k.origin}  created ${k.createdAt}${k.graceUntil ? `  grace until ${k.graceUntil}` : ''}${k.retiredAt ? `  retired ${k.retiredAt}` : ''}${k.destroyedAt ? `  destroyed ${k.destroyedAt}` : ''}`;

/** The lines an MSL client's config (mslcli.cfg) takes to authenticate this server. */
const clientConfigLines = mslClientConfigLines;

function generation(ctx: Context): number {
  const [word] = ctx.args;
  if (!/^\d{1,9}$/.test(word!)) throw new CliError(CliErrorCode.USAGE_BAD_VALUE, `A generation is a whole number (as show --all lists them), not "${visible(word!, 20)}".`);
  return Number(word);
}

const graceSeconds = (ctx: Context) => int(ctx.values['grace-seconds'], 'grace-seconds', undefined, { min: 0, max: MAX_MSL_TIME_SECONDS });

export const mslCommands: readonly Command[] = [
  {
    name: 'msl identity show', section: SECTION, arity: [0, 0], options: ['pem', 'jwk', 'all'],
    summary: 'the MSL server identity MSL clients pin: the lines their config takes, its thumbprint (--pem, --jwk: the public key so)',
    details: 'An MSL client authenticates this server by the public key its config lists under the key id: msl.rsa.id.N and msl.rsa.pub.N (N: the client\'s own numbering), with entity.auth.schemes.<name> RSA. The private key is never shown. --all lists every generation: retiring ones are kept but no longer sign, so clients that pin them must be re-configured.',
    async run(ctx) {
      await ctx.unlock();
      if (ctx.values.all === true) {
        const all = ctx.services.msl.keys.identities();
        ctx.out.print(all.length ? all.map(mslIdentityLine).join('\n') : 'No MSL server identity yet: keyladder msl identity create.', listed(all));
        return 0;
      }
      const i = ctx.services.msl.keys.identity();
      if (ctx.values.pem === true) ctx.out.print(i.pem.trimEnd(), { pem: i.pem, keyId: i.keyId, thumbprint: i.thumbprint });
      else if (ctx.values.jwk === true) ctx.out.print(JSON.stringify(i.jwk), i.jwk);
      else ctx.out.print(`${mslIdentityLine(i)}\n\nAn MSL client's config takes:\n${clientConfigLines(i)}`, i);
      return 0;
    },
  },
  {
    name: 'msl identity create', section: SECTION, arity: [0, 0], options: ['name'],
    summary: 'the first MSL server identity of a store that has none (one from before schema 8): RSA 2048',
    async run(ctx) {
      await ctx.unlock();
      const i = await ctx.services.msl.keys.createIdentity(ctx.values.name);
      ctx.out.print(`Created: ${mslIdentityLine(i)}\n\nAn MSL client's config takes:\n${clientConfigLines(i)}`, i);
      return 0;
    },
  },
  {
    name: 'msl identity rotate', section: SECTION, arity: [0, 0], options: ['name'],
    summary: 'a new key pair signs from now on; the one before is kept as retiring (clients that pin it need the new one)',
    async run(ctx) {
      await ctx.unlock();
      const i = await ctx.services.msl.keys.rotateIdentity(ctx.values.name);
      ctx.out.print(`Rotated: ${mslIdentityLine(i)}\nRe-configure the MSL clients:\n${clientConfigLines(i)}`, i);
      return 0;
    },
  },
  {
    name: 'msl identity import', section: SECTION, arity: [0, 0], options: ['key', 'kid', 'name', 'public-key'], required: ['key', 'kid'],
    summary: 'an MSL server\'s RSA key pair becomes the active identity, under the key id its clients pin (--kid)',
    details: '--key is the private key: PEM "RSA PRIVATE KEY" (PKCS #1) or "PRIVATE KEY" (PKCS #8), unencrypted, or the Base64 DER an MSL server config holds (msl.rsa.priv.N, the line itself or its value), or the server\'s whole config (mslsrv.cfg: the pair whose msl.rsa.id.N is --kid, checked against its msl.rsa.pub.N). RSA of 2048 bits or more with e = 65537, its halves belonging together, checked as every RSA key here is. --kid is msl.rsa.id.N (rsakeyid1 in MSL\'s sample config), --name the server\'s entity identity (server1 there). --public-key: the public key the clients pin, refused unless it is the private key\'s own.',
    async run(ctx) {
      const text = readTextFile(ctx.values.key!, 'private key', ctx.io);
      const publicKeyText = ctx.values['public-key'] === undefined ? undefined : readTextFile(ctx.values['public-key'], 'public key', ctx.io);
      await ctx.unlock();
      const i = await ctx.services.msl.keys.importIdentityText(text, { keyId: ctx.values.kid!, ...(ctx.values.name === undefined ? {} : { name: ctx.values.name }), ...(publicKeyText === undefined ? {} : { publicKeyText }) });
      ctx.out.print(`Imported: ${mslIdentityLine(i)}`, i);
      return 0;
    },
  },
  {
    name: 'msl identity retire', section: SECTION, params: 'GEN', arity: [1, 1], options: ['reason'],
    summary: 'a retiring identity generation, no longer pinned by any client, becomes retired',
    async run(ctx) {
      const gen = generation(ctx);
      const reason = reasonOf(ctx);
      await ctx.unlock();
      const i = ctx.services.msl.keys.retireIdentity(gen, reason);
      ctx.out.print(`Retired: ${mslIdentityLine(i)}`, i);
      return 0;
    },
  },
  {
    name: 'msl identity destroy', section: SECTION, params: 'GEN', arity: [1, 1], options: ['yes', 'reason'],
    summary: 'erase a retired identity generation\'s private key for good',
    async run(ctx) {
      const gen = generation(ctx);
      const reason = reasonOf(ctx);
      confirmed(ctx, `Destroying erases MSL identity generation ${gen}'s private key for good.`);
      await ctx.unlock();
      const i = ctx.services.msl.keys.destroyIdentity(gen, reason);
      ctx.out.print(`Destroyed: ${mslIdentityLine(i)}`, i);
      return 0;
    },
  },
  {
    name: 'msl keys show', section: SECTION, arity: [0, 0], options: [],
    summary: 'the master-token key generations (KCVs): active issues, grace ones still verify',
    async run(ctx) {
      await ctx.unlock();
      const all = ctx.services.msl.keys.tokenKeyGenerations();
      ctx.out.print(all.length ? all.map(mslTokenKeyLine).join('\n') : 'No master-token keys yet: keyladder msl keys rotate.', listed(all));
      return 0;
    },
  },
  {
    name: 'msl keys rotate', section: SECTION, arity: [0, 0], options: ['grace-seconds'],
    summary: 'new master-token keys; the ones before verify tokens for --grace-seconds (default: the expiration)',
    async run(ctx) {
      const grace = graceSeconds(ctx);
      await ctx.unlock();
      const k = ctx.services.msl.keys.rotateTokenKeys(grace);
      ctx.out.print(`Rotated: ${mslTokenKeyLine(k)}`, k);
      return 0;
    },
  },
  {
    name: 'msl keys import-msl', section: SECTION, arity: [0, 0], options: ['keys', 'grace-seconds'], required: ['keys'],
    summary: 'an MSL server\'s master-token keys, from {"enc": msl.key.enc, "hmac": msl.key.hmac} (hex); they become active',
    async run(ctx) {
      const grace = graceSeconds(ctx);
      const keys = readJsonObject(ctx.values.keys!, 'keys', ctx.io);
      if (Object.keys(keys).some((k) => k !== 'enc' && k !== 'hmac') || typeof keys['enc'] !== 'string' || typeof keys['hmac'] !== 'string') {
        throw new CliError(CliErrorCode.KEYS_INCOMPLETE, 'The keys file must be {"enc":"<msl.key.enc, 32 hex digits>","hmac":"<msl.key.hmac, 64 hex digits>"}.');
      }
      await ctx.unlock();
      const k = ctx.services.msl.keys.importTokenKeys(keys['enc'], keys['hmac'], grace);
      ctx.out.print(`Imported: ${mslTokenKeyLine(k)}`, k);
      return 0;
    },
  },
  {
    name: 'msl keys retire', section: SECTION, params: 'GEN', arity: [1, 1], options: ['reason'],
    summary: 'end a master-token key generation\'s grace now: tokens issued under it no longer verify',
    async run(ctx) {
      const gen = generation(ctx);
      const reason = reasonOf(ctx);
      await ctx.unlock();
      const k = ctx.services.msl.keys.retireTokenKeys(gen, reason);
      ctx.out.print(`Retired: ${mslTokenKeyLine(k)}`, k);
      return 0;
    },
  },
  {
    name: 'msl keys destroy', section: SECTION, params: 'GEN', arity: [1, 1], options: ['yes', 'reason'],
    summary: 'erase a retired master-token key generation for good',
    async run(ctx) {
      const gen = generation(ctx);
const reason = reasonOf(ctx);
            confirmed(ctx, `Destroying erases master-token key generation ${gen} for good.`);
      await ctx.unlock();
      const k = ctx.services.msl.keys.destroyTokenKeys(gen, reason);
      ctx.out.print(`Destroyed: ${mslTokenKeyLine(k)}`, k);
      return 0;
    },
  },
  {
    name: 'msl settings', section: SECTION, arity: [0, 0], options: ['renewal-window', 'expiration', 'non-replayable-window'],
    summary: 'the master-token renewal window and expiration, in seconds, and the non-replayable id window; with an option, changes it (audited)',
    async run(ctx) {
      const renewalWindow = int(ctx.values['renewal-window'], 'renewal-window', undefined, { min: 1, max: MAX_MSL_TIME_SECONDS });
      const expiration = int(ctx.values.expiration, 'expiration', undefined, { min: 1, max: MAX_MSL_TIME_SECONDS });
      const nonReplayableWindow = int(ctx.values['non-replayable-window'], 'non-replayable-window', undefined, { min: 1, max: MAX_NON_REPLAYABLE_WINDOW });
      await ctx.unlock();
      const settings = ctx.services.msl.settings;
      const times = renewalWindow === undefined && expiration === undefined && nonReplayableWindow === undefined
        ? settings.all()
        : settings.setAll({ ...(renewalWindow !== undefined ? { renewalWindow } : {}), ...(expiration !== undefined ? { expiration } : {}), ...(nonReplayableWindow !== undefined ? { nonReplayableWindow } : {}) });
      ctx.out.print(`renewal window ${times.renewalWindow} s, expiration ${times.expiration} s, non-replayable id window ${times.nonReplayableWindow}`, times);
      return 0;
    },
  },
];
