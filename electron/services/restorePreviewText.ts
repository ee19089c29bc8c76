// What a restore is about to put in place, in words: the same lines for the
// CLI's question and the app's restore dialog (issue 22, item 4).

import type { BackupPreview } from '../../db/restorePreview.js';

/** What a restore is about to put in place (db/restorePreview.ts), for the operator to confirm. */
export function restorePreviewText(file: string, storeDir: string, p: BackupPreview): string {
  const whose = p.currentStoreId === null ? `there is no store in ${storeDir} yet`
    : p.sameStore ? 'this store\'s own backup' : `ANOTHER store's backup (this store is ${p.currentStoreId})`;
  return [
    `About to restore ${file}:`,
    `  made:        ${p.backupAt ?? 'unknown (a backup from before backups were dated)'}`,
    `  store id:    ${p.storeId} (${whose})`,
    `  devices:     ${p.devices}`,
    `  Kissuer:     ${p.generations} generation${p.generations === 1 ? '' : 's'}${p.activeGeneration === null ? '' : `, ${p.activeGeneration} active`}`,
    `  audit head:  entry ${p.auditHead.seq} (MAC ${p.auditHead.mac}…)`,
  ].join('\n');
}
