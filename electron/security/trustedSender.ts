// Who may call IPC: only the app's own page. A sender is trusted when its frame
// URL is exactly on one of the app's origins (app://keyladder in the packaged
// app), or is exactly the app's own index.html over file://. Everything else
// (another origin, a look-alike host, a subframe, a destroyed frame, a URL that
// does not parse) is refused.
//
// Pure: no electron import, so it is tested under plain Node.

import { fileURLToPath } from 'node:url';
import path from 'node:path';

export interface TrustPolicy {
  /** Origins as scheme://host[:port], e.g. "app://keyladder" or "http://127.0.0.1:5173". */
  readonly origins?: readonly string[];
  /** The absolute path of the app's index.html, when it is loaded over file://. */
  readonly fileIndex?: string;
}

export type SenderCheck = (frameUrl: string | null | undefined) => boolean;

function originOf(url: URL): string {
  // WHATWG URL gives "null" as the origin of non-special schemes (app:), so build it by hand.
  return `${url.protocol}//${url.host}`;
}

export function trustedSender(policy: TrustPolicy): SenderCheck {
  const origins = new Set((policy.origins ?? []).map((o) => originOf(new URL(o))));
  const index = policy.fileIndex === undefined ? undefined : path.resolve(policy.fileIndex);
  return (frameUrl) => {
    if (typeof frameUrl !== 'string' || frameUrl.length === 0) return false;
    let url: URL;
    try {
      url = new URL(frameUrl);
    } catch {
      return false;
    }
    if (url.username !== '' || url.password !== '') return false;
    if (url.protocol === 'file:') {
      if (index === undefined || url.host !== '') return false;
      try {
        return path.resolve(fileURLToPath(url)) === index;
      } catch {
        return false;
      }
    }
    return origins.has(originOf(url));
  };
}
