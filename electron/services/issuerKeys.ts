// Kissuer generations: the lifecycle active → grace → retired → destroyed.
//
// Exactly one generation is active and issues wrapdata (the schema enforces
// it). Rotation makes a new one active and puts the old one into grace for N
// days, during which it still opens returning wrapdata; then it is retired
// (its wrapdata gets KEYX_WRAPPING_KEY_MISSING and devices fall back to PSK or
// MGK); destroying erases its key for good. Every transition is one transaction
// with its audit record.

import { checkReason } from './actor.js';
import { secretRandom } from '../jwe/secretBuffer.js';
import { z } from 'zod';
import type { KeyStore } from '../../db/store.js';
import type { IssuerRow } from '../../db/repositories/issuers.js';
import { kcv } from '../jwe/kcv.js';
import type { WrapdataFormat } from '../ladder/wrapdata.js';
import type { IssuerApi } from './api.js';
import { openBundle, protectionDetails, provenanceDetails, sealBundle, type OpenedBundle, type OpenProtection } from './bundles.js';
import { deliverThenRecord, type Delivery } from './delivery.js';
import { ServiceError, ServiceErrorCode } from './errors.js';
import { checkInteger, keyFromHex } from './keyInput.js';
import type { StoreSession } from './session.js';
import { issuerBinding } from './storeKeySource.js';
import type { BundleProtection, IssuerGeneration } from './types.js';

export const DEFAULT_GRACE_DAYS = 30;
const DAY_MS = 86_400_000;

function generationView(row: IssuerRow): IssuerGeneration {
  return {
    generation: row.generation,
    status: row.status,
    format: row.format,
    origin: row.origin,
    kcv: row.kcv,
    createdAt: row.created_at,
    activatedAt: row.activated_at,
    graceUntil: row.grace_until,
    retiredAt: row.retired_at,
    destroyedAt: row.destroyed_at,
    exchangeCount: row.exchange_count,
  };
}

/** Adds a new active generation; the current active one (if any) goes into grace. Call inside a transaction. */
export function addActiveGeneration(store: KeyStore, key: Buffer, format: WrapdataFormat, origin: 'generated' | 'imported-msl', at: Date, graceDays: number): number {
  const iso = at.toISOString();
  if (origin === 'imported-msl') refuseKnownKey(store, key);
  const current = store.issuers.active();
  const generation = store.issuers.nextGeneration();
  if (current) {
    if (graceDays === 0) store.issuers.retire(current.generation, iso);
    else store.issuers.toGrace(current.generation, new Date(at.getTime() + graceDays * DAY_MS).toISOString());
  }
  try {
    const keyKcv = kcv(key, 'aes');
    store.issuers.insertActive({ generation, format, origin, key: store.sealer.seal(issuerBinding(generation), key), kcv: keyKcv, at: iso });
    store.audit.append({
      at: iso,
      action: origin === 'imported-msl' ? 'issuer.import-msl' : current ? 'issuer.rotate' : 'issuer.create',
      outcome: 'ok',
      subject: String(generation),
      details: { format, kcv: keyKcv, previous: current?.generation ?? null, graceDays: current ? graceDays : null },
    });
  } finally {
    key.fill(0);
  }
  return generation;
}

/**
 * MSL's Kissuer imported a second time would be a new imported-msl generation that never issued
 * here, while wrapdata this store issued under the first import (to devices since revoked
 * included) opens under it first (openMsl tries the newest generation first): open to the
 * migration from MSL. So a key this store holds or held, a destroyed generation's too (its KCV
 * is kept in former_kcv), is refused before anything changes. The key is zeroed on refusal.
 */
function refuseKnownKey(store: KeyStore, key: Buffer): void {
  const known = store.issuers.knownKcv(kcv(key, 'aes'));
  if (known === undefined) return;
  key.fill(0);
  throw new ServiceError(ServiceErrorCode.ISSUER_KEY_KNOWN, `This Kissuer is generation ${known.generation} here (${known.status}); nothing was imported. Importing it again would let wrapdata issued here pass for MSL's own.`);
}

export class IssuerService implements IssuerApi {
  constructor(private readonly session: StoreSession, private readonly now: () => Date) {}

  /** Turns ended grace periods into retirements, with their audit records. */
  private expire(store: KeyStore): void {
    const at = this.now().toISOString();
    store.transaction(() => {
      for (const generation of store.issuers.expireGrace(at)) {
        store.audit.append({ at, action: 'issuer.retire', outcome: 'ok', subject: String(generation), details: { reason: 'grace period ended' } });
      }
      // The old responder's wrapdata migrated under a retired generation opens nowhere now.
      store.wrapdata.forgetRetiredMigrations();
    });
  }

  list(): IssuerGeneration[] {
    const store = this.session.store();
    this.session.flushPending();
    this.expire(store);
    return store.issuers.list().map(generationView);
  }

  private view(generation: number): IssuerGeneration {
    this.session.flushPending();
    return generationView(this.session.store().issuers.get(generation)!);
  }

  rotate(graceDays: number = DEFAULT_GRACE_DAYS, format: WrapdataFormat = 'keyladder-v1'): IssuerGeneration {
    checkInteger(graceDays, 'The grace period in days', 0, 3650);
    if (format !== 'keyladder-v1' && format !== 'msl') throw new ServiceError(ServiceErrorCode.INVALID_ARGUMENT, 'The wrapdata format is "keyladder-v1" or "msl".');
    const store = this.session.store();
    this.expire(store);
    const generation = store.transaction(() => addActiveGeneration(store, secretRandom(16), format, 'generated', this.now(), graceDays));
    return this.view(generation);
  }

  importMsl(kissuerHex: string, graceDays: number = DEFAULT_GRACE_DAYS): IssuerGeneration {
    checkInteger(graceDays, 'The grace period in days', 0, 3650);
    const key = keyFromHex(kissuerHex, 'kissuer', 16);
    const store = this.session.store();
    const generation = store.transaction(() => addActiveGeneration(store, key, 'msl', 'imported-msl', this.now(), graceDays));
    return this.view(generation);
  }

  private row(generation: number): IssuerRow {
    checkInteger(generation, 'The generation', 1, 2 ** 32 - 1);
    const row = this.session.store().issuers.get(generation);
    if (!row) throw new ServiceError(ServiceErrorCode.ISSUER_NOT_FOUND, `There is no Kissuer generation ${generation}: see the list of generations.`);
    return row;
  }

  retire(generation: number, reasonInput?: string): IssuerGeneration {
    const reason = checkReason(reasonInput);
    const row = this.row(generation);
    if (row.status === 'active') throw new ServiceError(ServiceErrorCode.ISSUER_TRANSITION, `Generation ${generation} is the active one. Rotate first, then retire it.`);
    if (row.status !== 'grace') throw new ServiceError(ServiceErrorCode.ISSUER_TRANSITION, `Generation ${generation} is already ${row.status}.`);
    const store = this.session.store();
    const at = this.now().toISOString();
    store.transaction(() => {
      store.issuers.retire(generation, at);
      store.audit.append({ at, action: 'issuer.retire', outcome: 'ok', subject: String(generation), details: { reason: 'operator' }, reason });
      store.wrapdata.forgetRetiredMigrations();
    });
    store.sealer.forget(issuerBinding(generation));
    return this.view(generation);
  }

  destroy(generation: number, reasonInput?: string): IssuerGeneration {
    const reason = checkReason(reasonInput);
    const row = this.row(generation);
    if (row.status === 'destroyed') throw new ServiceError(ServiceErrorCode.ISSUER_TRANSITION, `Generation ${generation} is already destroyed.`);
    if (row.status !== 'retired') throw new ServiceError(ServiceErrorCode.ISSUER_TRANSITION, `Generation ${generation} is ${row.status}. Only a retired generation can be destroyed: ${row.status === 'active' ? 'rotate, then retire it' : 'retire it'} first.`);
    const store = this.session.store();
    const at = this.now().toISOString();
    store.transaction(() => {
      store.issuers.destroy(generation, at);
      store.audit.append({ at, action: 'issuer.destroy', outcome: 'ok', subject: String(generation), details: { kcv: row.kcv }, reason });
    });
    store.sealer.forget(issuerBinding(generation));
    this.session.flushPending();
    store.checkpoint();
    return this.view(generation);
  }

  /** `delivery`: where the export goes; it is audited "ok" only once it is there (delivery.ts). */
  async exportToPeer(generations: readonly number[], protection: BundleProtection, delivery?: Delivery): Promise<string> {
    if (!Array.isArray(generations) || generations.length === 0) throw new ServiceError(ServiceErrorCode.INVALID_ARGUMENT, 'Name at least one generation to export.');
    const store = this.session.store();
    const payload = generations.map((g) => {
      const row = this.row(g);
      const keyRow = store.issuers.keyOf(g)!;
      if (keyRow.key === null || row.status === 'retired') throw new ServiceError(ServiceErrorCode.ISSUER_TRANSITION, `Generation ${g} is ${row.status}; only active and grace generations can be shared.`);
      const key = store.sealer.unseal(issuerBinding(g), keyRow.key);
      const hex = key.toString('hex');
      key.fill(0);
      return { generation: g, status: row.status, format: row.format, graceUntil: row.grace_until, kcv: row.kcv, kissuer: hex };
    });
    const jwe = await sealBundle('keyladder-issuer-export', { generations: payload }, protection, store);
    deliverThenRecord(jwe, delivery, () => store.audit.append({ at: this.now().toISOString(), action: 'issuer.export', outcome: 'ok', subject: generations.join(','), details: { count: generations.length, ...protectionDetails(protection) } }));
    return jwe;
  }

  /**
   * Adds a peer's generations under their own numbers (keyladder-v1 wrapdata
   * names its generation, so peers must agree on them). The peer's active
   * generation becomes active here too. A number already used here by another
   * key is a conflict; the same key is skipped. A responder joining a network
   * should start from the network's generations: `keyladder init --join`.
   */
  async importFromPeer(jwe: string, protection: OpenProtection): Promise<IssuerGeneration[]> {
    const store = this.session.store();
    const { generations, opened } = await readPeerExport(jwe, protection, store);
    const imported = store.transaction(() => applyPeerGenerations(store, generations, this.now(), opened.signer, opened.signerThumbprint));
    return imported.map((g) => this.view(g));
  }
}

/**
 * One generation of a peer's export, field by field, exactly as exportToPeer
 * writes it. The JWE proves who made the file, not that every field is sane:
 * a graceUntil of "~never" sorted after every date and kept a generation in
 * grace forever. Active generations have no grace date; grace ones have an
 * ISO 8601 one.
 */
const PeerGeneration = z
  .strictObject({
    generation: z.number().int().min(1).max(2 ** 32 - 1),
    status: z.enum(['active', 'grace']),
    format: z.enum(['keyladder-v1', 'msl']),
    graceUntil: z.iso.datetime().nullable(),
    kcv: z.string().regex(/^[0-9A-F]{6}$/),
    kissuer: z.string().regex(/^[0-9a-f]{32}$/),
  })
  .refine((e) => (e.status === 'active') === (e.graceUntil === null), { path: ['graceUntil'] });
const PeerExport = z.strictObject({ generations: z.array(PeerGeneration).min(1) });

/**
 * Decrypts a peer's Kissuer export and checks every field; the entries still
 * hold the keys as hex. `store` opens it with the keyring (absent while a
 * store is being created).
 */
export async function readPeerExport(jwe: string, protection: OpenProtection, store?: KeyStore): Promise<{ generations: Array<Record<string, unknown>>; opened: OpenedBundle }> {
  const opened = await openBundle('keyladder-issuer-export', jwe, protection, store);
  const checked = PeerExport.safeParse(opened.payload);
  if (!checked.success) {
    // Name the field, never its value (one of them is a key).
    const where = checked.error.issues[0]?.path.join('.') || 'generations';
    throw new ServiceError(ServiceErrorCode.BUNDLE_INVALID, `The export is malformed at ${where}; nothing was imported.`);
  }
  return { generations: checked.data.generations, opened };
}

/**
 * Adds a peer's generations (see IssuerService.importFromPeer). Call inside a transaction. Every
 * import is audited by one record, with who signed it (or that nobody did) and how many
 * generations it brought, even none: an unsigned file the operator accepted is worth recording
 * whatever it held.
 */
export function applyPeerGenerations(store: KeyStore, entries: ReadonlyArray<Record<string, unknown>>, at: Date, signer: string | null, signerThumbprint: string | null = null): number[] {
  const imported: number[] = [];
  const added: string[] = [];
  for (const entry of entries) {
    const generation = checkInteger(entry['generation'], 'generation', 1, 2 ** 32 - 1);
    const format = entry['format'] === 'msl' ? 'msl' : entry['format'] === 'keyladder-v1' ? 'keyladder-v1' : undefined;
    if (!format || (entry['status'] !== 'active' && entry['status'] !== 'grace')) throw new ServiceError(ServiceErrorCode.BUNDLE_INVALID, `Generation ${generation} in the export is malformed.`);
    const key = keyFromHex(entry['kissuer'], 'kissuer', 16);
    try {
      const keyKcv = kcv(key, 'aes');
      if (entry['kcv'] !== keyKcv) throw new ServiceError(ServiceErrorCode.BUNDLE_INVALID, `Generation ${generation} in the export does not match its own KCV; nothing was imported.`);
      const existing = store.issuers.get(generation);
      if (existing) {
        if (existing.kcv === keyKcv) continue;
        throw new ServiceError(ServiceErrorCode.ISSUER_CONFLICT, `Generation ${generation} already exists here with another key (KCV ${existing.kcv ?? 'destroyed'}). Nothing was imported. A responder joining a network starts from its generations: keyladder init --join.`);
      }
      const sealed = store.sealer.seal(issuerBinding(generation), key);
      if (entry['status'] === 'active') {
        const current = store.issuers.active();
        if (current) store.issuers.toGrace(current.generation, new Date(at.getTime() + DEFAULT_GRACE_DAYS * DAY_MS).toISOString());
        store.issuers.insertActive({ generation, format, origin: 'imported-peer', key: sealed, kcv: keyKcv, at: at.toISOString() });
      } else {
        // readPeerExport checked it: an ISO 8601 date. Stored in the one form the store compares.
        const graceUntil = new Date(entry['graceUntil'] as string).toISOString();
        store.issuers.insertImported({ generation, status: 'grace', format, key: sealed, kcv: keyKcv, at: at.toISOString(), graceUntil });
      }
      imported.push(generation);
      added.push(`${generation} ${entry['status'] as string} ${format} KCV ${keyKcv}`);
    } finally {
      key.fill(0);
    }
  }
  store.audit.append({
    at: at.toISOString(), action: 'issuer.import-peer', outcome: 'ok', subject: imported.length > 0 ? imported.join(',') : null,
    details: { count: imported.length, offered: entries.length, generations: added.join('; '), ...provenanceDetails(signer, signerThumbprint) },
  });
  return imported;
}
