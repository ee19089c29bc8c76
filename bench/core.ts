// The protocol core over keys in memory, shared by the suites that compare
// against it: the protocol suite's own figures, and the store suite's
// services-vs-core ratio (issue 14), whose two sides are taken in turns.

import { randomBytes } from 'node:crypto';
import { portableKeyWrap } from '../electron/jwe/aesKeyWrap.js';
import { systemRandom } from '../electron/jwe/random.js';
import type { JweProfileName } from '../electron/jwe/keyKinds.js';
import { parseExchangeRequestJson } from '../electron/ladder/messages.js';
import { LadderResponder } from '../electron/ladder/responder.js';
import type { WrapdataFormat } from '../electron/ladder/wrapdata.js';
import { MemoryKeySource } from '../test/support/memoryKeySource.js';
import type { BenchCase } from './harness.js';

export const IDENTITY = 'BENCH-ESN-000001';

export interface Setup {
  readonly source: MemoryKeySource;
  readonly responder: LadderResponder;
  /** The same responder on the portable key wrap (Electron's path), over the same keys. */
  readonly portable: LadderResponder;
  readonly kpw: Buffer;
  readonly kdw: Buffer;
  readonly pskRequest: string;
  readonly mgkRequest: string;
  /** A WRAP request carrying wrapdata the responder issued to IDENTITY. */
  readonly wrapRequest: string;
}

export function setup(format: WrapdataFormat): Setup {
  const kpw = randomBytes(16);
  const kdw = randomBytes(16);
  const source = new MemoryKeySource().addGroup('bench-group', kdw).addDevice(IDENTITY, kpw, 'bench-group');
  // Some devices beside it, so lookups are not trivially the only entry.
  for (let i = 0; i < 1000; i++) source.addDevice(`BENCH-ESN-${String(i + 2).padStart(6, '0')}`, randomBytes(16));
  source.addIssuer(randomBytes(16), format);
  const responder = new LadderResponder(source);
  const request = (keydata: object) => JSON.stringify({ identity: IDENTITY, keyrequestdata: { scheme: 'JWE_LADDER', keydata } });
  const first = responder.respond(IDENTITY, { mechanism: 'PSK' });
  return {
    source,
    responder,
    portable: new LadderResponder(source, systemRandom, 'msl', portableKeyWrap),
    kpw,
    kdw,
    pskRequest: request({ mechanism: 'PSK' }),
    mgkRequest: request({ mechanism: 'MGK' }),
    wrapRequest: request({ mechanism: 'WRAP', wrapdata: first.keydata.wrapdata }),
  };
}

export function responderCase(name: string, s: Setup, requestText: string, profile: JweProfileName, responder: LadderResponder = s.responder): BenchCase {
  // Check once, outside the timing, that the request is answered.
  const answer = () => {
    const { identity, keyRequest } = parseExchangeRequestJson(requestText);
    return responder.respond(identity, keyRequest, { profile }).keydataJson;
  };
  if (!answer().startsWith('{"wrapdata":')) throw new Error(`${name}: no answer`);
  return { name, op: 'exchange', run: () => void answer() };
}
