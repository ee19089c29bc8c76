/** See memoryScan.mjs. */
export type KeyForm = readonly [name: string, bytes: Buffer];
export declare function keyForms(key: Uint8Array): KeyForm[];
export declare function scanProcessMemory(pid: number, forms: readonly KeyForm[]): { counts: Record<string, number>; total: number };
