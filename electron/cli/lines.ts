// One line of human output per thing the services return.

import type { RekeyCounts } from '../../db/rekey.js';
import type { DeviceSummary, IssuerGeneration, RungReport } from '../services/types.js';
import { count } from './output.js';
export { restorePreviewText } from '../services/restorePreviewText.js';

export const deviceLine = (d: DeviceSummary): string =>
  `${d.identity}  ${d.status}  group=${d.group ?? '-'}  KCV kpw=${d.kcv.kpw}${d.kcv.kpe ? ` kpe=${d.kcv.kpe} kph=${d.kcv.kph}` : ''}  exchanges=${d.exchangeCount}${d.lastExchangeAt ? `  last=${d.lastExchangeAt} ${d.lastMechanism} gen ${d.lastGeneration}` : ''}` +
  (d.possibleClone ? `  POSSIBLE CLONE since ${d.possibleClone.since} (${count(d.possibleClone.events, 'superseded wrapdata', 'superseded wrapdata')})` : '');

export const rekeyedLine = (c: RekeyCounts): string =>
  `${count(c.devices, 'device')}, ${count(c.groups, 'model group')} and ${count(c.generations, 'Kissuer generation')} resealed, ${count(c.auditEntries, 'audit entry', 'audit entries')} chained again. Old key files, backups' key files excepted, and recovery keys open nothing now; print a new recovery key if you keep one, and take a new audit checkpoint.`;

export const generationLine = (g: IssuerGeneration): string =>
  `gen ${g.generation}  ${g.status.padEnd(9)} ${g.format.padEnd(12)} KCV ${g.kcv ?? '------'}  exchanges=${g.exchangeCount}  created ${g.createdAt}${g.graceUntil ? `  grace until ${g.graceUntil}` : ''}${g.retiredAt ? `  retired ${g.retiredAt}` : ''}${g.destroyedAt ? `  destroyed ${g.destroyedAt}` : ''}`;

export const rungLine = (r: RungReport): string =>
  `rung ${r.rung}  ${r.mechanism.padEnd(4)} gen ${r.issuedGeneration}${r.openedGeneration !== null ? ` (opened gen ${r.openedGeneration})` : ''}  ` +
  `Kwrap ${r.responder.kwrap}/${r.device.kwrap}  Kenc ${r.responder.kenc}/${r.device.kenc}  Khmac ${r.responder.khmac}/${r.device.khmac}  ${r.match ? 'match' : 'MISMATCH'}  ${(r.micros / 1000).toFixed(2)} ms`;

