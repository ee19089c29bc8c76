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
//   not revoked (a revoked device's tokens stop working from its next message on).
//
// Keys are unsealed at the moment of use; the crypto context copies them into
// KeyObjects and the buffers are zeroed here.

import type { KeyStore } from '../../db/store.js';
import { deviceBinding, groupBinding } from '../../db/sealing.js';
import { MslError } from '../msl/errors.js';
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

/** For a master token's identity: refused once the device is revoked or gone from this store. */
export function checkTokenIdentity(store: KeyStore, identity: string): void {
  const row = store.devices.keys(identity);
  if (row === undefined) throw new MslError('MASTERTOKEN_IDENTITY_REVOKED', 'DEVICE_UNKNOWN');
  if (row.status === 'revoked') throw new MslError('MASTERTOKEN_IDENTITY_REVOKED', 'DEVICE_REVOKED');
}
