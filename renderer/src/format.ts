/** A timestamp as the operator reads it: local date and time, to the minute. */
export function formatDate(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toLocaleString(undefined, { year: 'numeric', month: 'short', day: '2-digit', hour: '2-digit', minute: '2-digit' });
}

export const plural = (n: number, one: string, many = `${one}s`) => `${n.toLocaleString()} ${n === 1 ? one : many}`;

/**
 * Where a device's or a group's keys came from, in words. The store names
 * both kinds' origins after the device keys (imported-kpe-kph), so a group's
 * "imported-kpe-kph" is read as Kde + Kdh here.
 */
export function keyOrigin(origin: 'generated' | 'imported-kpe-kph' | 'imported-kpw', owner: 'device' | 'group'): string {
  if (origin === 'generated') return 'generated here';
  if (origin === 'imported-kpe-kph') return owner === 'group' ? 'imported Kde + Kdh' : 'imported Kpe + Kph';
  return owner === 'group' ? 'imported Kdw' : 'imported Kpw';
}
