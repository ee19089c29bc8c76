// Every audit action as a list, for the audit filters of the CLI, the IPC
// contract and the renderer (which imports it: so nothing here but a type).

import type { AuditAction } from './types.js';

/**
 * Every audit action, for the audit filters (contract.ts also checks that none is missing).
 * `msl.test` is no longer written (simulated MSL messages are `exchange.test` since issue 21)
 * but stays a filter: older stores hold such records.
 */
export const AUDIT_ACTIONS = [
  'store.create', 'store.unlock', 'store.unlock-cli', 'store.unlock-failed', 'store.passphrase-change', 'store.backup', 'store.restore', 'store.recovery-key', 'store.rollback-detected', 'store.rekey',
  'device.provision', 'device.import', 'device.revoke', 'device.export', 'device.clone-cleared', 'device.delete',
  'group.add', 'group.export', 'policy.clone', 'policy.migration',
  'issuer.create', 'issuer.rotate', 'issuer.retire', 'issuer.destroy', 'issuer.import-msl', 'issuer.export', 'issuer.import-peer',
  'exchange', 'exchange.summary', 'exchange.test', 'exchange.check', 'msl', 'msl.test', 'audit.checkpoint', 'audit.export', 'audit.archive', 'audit.policy', 'revocation.export', 'revocation.import',
  'recipient.add', 'recipient.remove', 'recipient.list', 'recipient.show', 'recipient.jwks', 'identity.create', 'identity.rotate', 'identity.list', 'identity.jwks',
  'jose.decrypt', 'jose.encrypt',
  'msl.identity-create', 'msl.identity-rotate', 'msl.identity-import', 'msl.identity-retire', 'msl.identity-destroy',
  'msl.keys-create', 'msl.keys-rotate', 'msl.keys-import', 'msl.keys-retire', 'msl.keys-destroy', 'msl.settings',
] as const satisfies readonly AuditAction[];
