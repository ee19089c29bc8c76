// Which addresses an HTTP responder may bind, shared by main (which
// validates), `keyladder serve` and the renderer (which warn). No
// dependencies, so the renderer bundle can import it.

export const RESPONDER_DEFAULT_HOST = '127.0.0.1';
export const RESPONDER_DEFAULT_PORT = 8420;

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/**
 * Loopback only: `localhost`, 127.0.0.0/8, `::1` (also written out in full)
 * and 127.x mapped into IPv6 (`::ffff:127.0.0.1`). Anything else, 0.0.0.0 and
 * `::` included, is reachable from other machines and counts as not loopback
 * (an unusual spelling of a loopback address only earns an extra warning).
 */
export function isLoopbackHost(host: string): boolean {
  const h = host.trim().toLowerCase().replace(/^\[(.*)\]$/, '$1');
  if (h === 'localhost' || h === '::1' || /^(?:0{1,4}:){7}0{0,3}1$/.test(h)) return true;
  const v4 = /^(?:::ffff:)?(.+)$/.exec(h)?.[1] ?? '';
  return IPV4.test(v4) && v4.startsWith('127.');
}
