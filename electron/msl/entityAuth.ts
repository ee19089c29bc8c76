// Entity authentication data, `{"scheme":…,"authdata":{…}}`: who sent a
// message that has no master token, and which keys protect it.
//
// KeyLadder's devices authenticate with PSK or MGK (`{identity}` both: MGK is
// defined on MSL's wiki, MSL's Java has no factory for it); the server signs
// its own answers with RSA (`{identity, pubkeyid}`), which our client reads.
// Every other scheme is refused by name, as MSL's Header refuses a scheme it
// has no factory for: a name MSL defines → ENTITYAUTH_FACTORY_NOT_FOUND, a
// name nobody defines → UNIDENTIFIED_ENTITYAUTH_SCHEME.

import { LadderError } from '../ladder/errors.js';
import { parseIdentity } from '../ladder/messages.js';
import { MslError } from './errors.js';
import { Fields, printable } from './fields.js';

export type EntityAuthData =
  | { readonly scheme: 'PSK' | 'MGK'; readonly identity: string }
  | { readonly scheme: 'RSA'; readonly identity: string; readonly pubkeyid: string };

export type EntityAuthScheme = EntityAuthData['scheme'];

/** MSL's EntityAuthenticationScheme names that KeyLadder does not serve. */
export const UNSUPPORTED_MSL_SCHEMES: readonly string[] = ['PSK_PROFILE', 'X509', 'ECC', 'NONE', 'NONE_SUFFIXED', 'MT_PROTECTED', 'PROVISIONED'];

function identityOf(authdata: Fields): string {
  try {
    return parseIdentity(authdata.obj['identity']);
  } catch (e) {
    if (e instanceof LadderError) throw authdata.fail(`identity: ${e.reason}`);
    throw e;
  }
}

/** Parses entityauthdata; a malformed one is MSL_PARSE_ERROR (MSL's EntityAuthenticationData.create). */
export function parseEntityAuthData(value: unknown): EntityAuthData {
  const top = Fields.of(value, 'MSL_PARSE_ERROR', 'entityauthdata').only(['scheme', 'authdata']);
  const scheme = top.string('scheme');
  if (scheme !== 'PSK' && scheme !== 'MGK' && scheme !== 'RSA') {
    throw new MslError(UNSUPPORTED_MSL_SCHEMES.includes(scheme) ? 'ENTITYAUTH_FACTORY_NOT_FOUND' : 'UNIDENTIFIED_ENTITYAUTH_SCHEME', printable(scheme));
  }
  const authdata = Fields.of(top.object('authdata'), 'MSL_PARSE_ERROR', `${scheme} authdata`);
  if (scheme === 'RSA') {
    authdata.only(['identity', 'pubkeyid']);
    const pubkeyid = authdata.string('pubkeyid');
    if (pubkeyid.length === 0 || pubkeyid.length > 256 || !/^[\x21-\x7e]+$/.test(pubkeyid)) throw authdata.fail('"pubkeyid" must be 1 to 256 printable characters');
    return { scheme, identity: identityOf(authdata), pubkeyid };
  }
  authdata.only(['identity']);
  return { scheme, identity: identityOf(authdata) };
}

/** The JSON object MSL writes (`authdata` members in its order). */
export function entityAuthDataJson(data: EntityAuthData): { scheme: string; authdata: Record<string, string> } {
  return data.scheme === 'RSA'
    ? { scheme: 'RSA', authdata: { identity: data.identity, pubkeyid: data.pubkeyid } }
    : { scheme: data.scheme, authdata: { identity: data.identity } };
}
