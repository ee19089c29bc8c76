// The keys an MSL message's sender is authenticated with, from the store:
//
// - PSK entity authentication: the device's own Kpe/Kph (MSL's
//   PresharedAuthenticationFactory). A device provisioned with Kpw alone has
//   no Kpe/Kph here and cannot authenticate by PSK (it can still climb the
//   ladder on /v1/keyx).
// - MGK entity authentication: the Kde/Kdh of the device's model group.
//   MSL's Java code has no MGK factory; the MSL wiki defines MGK entity
//   authentication as PSK's with the model group's keys ("Pre-shared Keys or
//   Model Group Keys Entity Authentication"), and that is what this does.
// - A master token: the identity inside it must still be provisioned here and
//   not revoked (a revoked device's tokens stop working from its next message on),
//   and the token must have been issued to the device holding it now: an
//   identity deleted and provisioned again with --reuse-identity belongs to a
//   new device, and the deleted one still holds its tokens' session keys. Each
//   token carries the identity's epoch at issue (tombstones.ts epochOf: how many
//   times a device holding it was deleted) in its issuerdata, encrypted and
//   signed with the session data, and only the current epoch's tokens pass.
//
// Keys are unsealed at the moment of use; the crypto context copies them into
// KeyObjects and the buffers are zeroed here.

import type { KeyStore } from '../../db/store.js';
import { deviceBinding, groupBinding } from '../../db/sealing.js';
import { MslError } from '../msl/errors.js';
import type { JsonObject } from '../msl/fields.js';
import { SymmetricCryptoContext } from '../msl/symmetricContext.js';

export type MslEntityScheme = 'PSK' | 'MGK';

/** The entity's crypto context (key id = identity, as MSL's client writes it), or the MSL refusal. */
export function entityContext(store: KeyStore, identity: string, scheme: MslEntityScheme): SymmetricCryptoContext {
  // One lookup for the status and the sealed keys (it runs for every message sent under entity auth).
  const row = store.devices.entityKeys(identity);
  if (row === undefined) {
    // A device only a peer revoked is as unknown here as any other: this store holds no key for it.
    throw new MslError('ENTITY_NOT_FOUND', store.revocations.heardRevoked(identity) ? 'DEVICE_REVOKED_BY_PEER' : 'DEVICE_UNKNOWN');
  }
  if (row.status === 'revoked') throw new MslError('ENTITY_REVOKED', 'DEVICE_REVOKED');
  let enc: Buffer | undefined;
  let hmac: Buffer | undefined;
  try {
    if (scheme === 'PSK') {
      if (row.kpe === null || row.kph === null) throw new MslError('ENTITY_NOT_FOUND', 'NO_KPE_KPH');
      enc = store.sealer.unseal(deviceBinding(identity, 'kpe'), row.kpe);
      hmac = store.sealer.unseal(deviceBinding(identity, 'kph'), row.kph);
    } else {
      const group = row.group_name === null ? undefined : store.groups.sealedKeys(row.group_name);
      if (group === undefined) throw new MslError('ENTITY_NOT_FOUND', 'NO_MODEL_GROUP');
      if (group.kde === null || group.kdh === null) throw new MslError('ENTITY_NOT_FOUND', 'NO_KDE_KDH');
      enc = store.sealer.unseal(groupBinding(group.name, 'kde'), group.kde);
      hmac = store.sealer.unseal(groupBinding(group.name, 'kdh'), group.kdh);
    }
    return new SymmetricCryptoContext(identity, enc, hmac);
  } finally {
    enc?.fill(0);
    hmac?.fill(0);
  }
}

/** The issuerdata member a master token carries its identity's epoch in (absent: epoch 0, never deleted, as every token issued before epochs were). */
export const EPOCH_MEMBER = 'keyladderepoch';

/**
 * The identity's epoch, to write into the master token issued to the device
 * holding it. For a first contact, read it before the device's keys: if the
 * device is deleted and the identity provisioned again in between, the keys
 * read are the new device's (the old one's message does not verify under them)
 * or the epoch is the old one (its token is refused from its next message on).
 */
export const identityEpoch = (store: KeyStore, identity: string): number => store.tombstones.epochOf(identity);

/** A master token's issuerdata for `epoch` (none at epoch 0, so tokens of devices never deleted are as before). */
export const epochIssuerData = (epoch: number): JsonObject | undefined => (epoch === 0 ? undefined : { [EPOCH_MEMBER]: epoch });

/** The epoch a master token was issued at; NaN when its issuerdata holds something else there (it then matches no epoch). */
export function tokenEpoch(issuerdata: JsonObject | undefined): number {
  const value = issuerdata?.[EPOCH_MEMBER];
  if (value === undefined) return 0;
  return typeof value === 'number' && Number.isSafeInteger(value) && value > 0 ? value : Number.NaN;
}

/**
 * For a master token: refused once its device is revoked, gone from this
 * store, or deleted with its identity held by a new device since. Returns the
 * token's epoch (the renewed token carries it on).
 */
export function checkTokenIdentity(store: KeyStore, token: { readonly identity: string; readonly issuerdata?: JsonObject }): number {
  const identity = token.identity;
  const row = store.devices.keys(identity);
  const epoch = identityEpoch(store, identity);
  if (row === undefined) throw new MslError('MASTERTOKEN_IDENTITY_REVOKED', epoch > 0 ? 'DEVICE_DELETED' : 'DEVICE_UNKNOWN');
  if (row.status === 'revoked') throw new MslError('MASTERTOKEN_IDENTITY_REVOKED', 'DEVICE_REVOKED');
  // Issued to a device since deleted: the identity's device now is another one, with other keys.
  const issuedAt = tokenEpoch(token.issuerdata);
  if (issuedAt !== epoch) throw new MslError('MASTERTOKEN_IDENTITY_REVOKED', 'DEVICE_DELETED');
  return epoch;
}
