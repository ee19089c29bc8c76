// Decoy answers, for `serve --uniform-refusals`.
//
// A refusal that depends on who the identity is (unknown, revoked, in no model
// group) or on the wrapdata it brought back (malformed, of another identity,
// retired, superseded, refused by the registry) would tell a caller which
// identities exist and which are revoked: by its status, its body, or by what
// happens when the wrapdata of one answer is sent back. Under the option such
// a refusal is answered instead with a decoy: a well-formed answer made by the
// same responder code, over the same crypto calls, under keys drawn at random
// and thrown away. Nobody can open it (not the device, not the caller, not
// us), so it gives nothing away and grants nothing; its wrapdata is sealed
// under a random key too, so sent back it fails to open and gets another decoy.
//
// What a decoy shares with a real answer: the active Kissuer generation's
// number and wrapdata format (the keyladder-v1 header carries the generation
// in clear, and its identity tag is public), the 16-byte previous key (PSK,
// MGK and WRAP all wrap under a 16-byte key), and one sealed-key opening (the
// real answer opens Kpw or Kdw from the store).

import { randomBytes } from 'node:crypto';
import type { KeyStore } from '../../db/store.js';
import { LadderError, MslErrorCode } from '../ladder/errors.js';
import { LadderResponder, type LadderKeySource, type ResponderResult, type WrappingKeyLookup } from '../ladder/responder.js';
import type { IssuerKey } from '../ladder/wrapdata.js';
import type { JweProfileName } from '../ladder/keyKinds.js';
import { systemRandom, type RandomSource } from '../jwe/random.js';

/** The codes whose refusal an identity's state or its wrapdata decides: these get decoys. */
const DECOYED_CODES: ReadonlySet<string> = new Set([MslErrorCode.ENTITY_NOT_FOUND, MslErrorCode.ENTITY_REVOKED, MslErrorCode.KEYX_WRAPPING_KEY_MISSING]);

export function isDecoyed(error: unknown): error is LadderError {
  return error instanceof LadderError && (DECOYED_CODES.has(error.code) || error.reason === 'NO_MODEL_GROUP');
}

const DECOY_BINDING = 'decoy/kpw';
const KEY_LENGTH = 16;

/**
 * A key source that hands out random keys: a random previous key, and the
 * active Kissuer generation's number and format with a random key.
 */
class DecoyKeySource implements LadderKeySource {
  constructor(private readonly store: KeyStore, private readonly sealed: Buffer, private readonly random: RandomSource) {}

  wrappingKey(): WrappingKeyLookup {
    // The real answer opens the device's (or group's) sealed key: open one of the same size, and drop it.
    this.store.sealer.unseal(DECOY_BINDING, this.sealed).fill(0);
    return { status: 'active', key: this.randomKey() };
  }

  activeIssuer(): IssuerKey | undefined {
    const row = this.store.issuers.active();
    return row && { generation: row.generation, format: row.format, key: this.randomKey() };
  }

  issuer(): undefined {
    return undefined;
  }

  mslIssuers(): [] {
    return [];
  }

  /** Its own buffer (the responder zeroes what it is handed), filled from the pool. */
  private randomKey(): Buffer {
    const drawn = this.random.take(KEY_LENGTH);
    const key = Buffer.from(drawn);
    drawn.fill(0);
    return key;
  }
}

export class DecoyResponder {
  /** The sealed decoy key of each store, made at first use (a store's sealer lives as long as its unlock). */
  private readonly sealed = new WeakMap<KeyStore, Buffer>();

  constructor(private readonly random: RandomSource = systemRandom) {}

  /** A decoy answer for `identity`: an answer's shape, length and work, under random keys. */
  answer(store: KeyStore, identity: string, profile: JweProfileName): ResponderResult {
    let sealed = this.sealed.get(store);
    if (sealed === undefined) {
      const plain = randomBytes(KEY_LENGTH);
      sealed = store.sealer.seal(DECOY_BINDING, plain);
      plain.fill(0);
      this.sealed.set(store, sealed);
    }
    // With no active generation the responder refuses (KEYX_RESPONDER_UNAVAILABLE), as it does for every identity.
    return new LadderResponder(new DecoyKeySource(store, sealed, this.random), this.random).respond(identity, { mechanism: 'PSK' }, { profile });
  }
}
