// An in-memory LadderKeySource for protocol tests: the store plugs into the
// same interface in production.
import type { LadderKeySource, WrappingKeyLookup } from '../../electron/ladder/responder.js';
import type { IssuerKey, WrapdataFormat } from '../../electron/ladder/wrapdata.js';

interface Device {
  kpw: Buffer;
  group?: string;
  revoked?: boolean;
}

interface Generation {
  generation: number;
  format: WrapdataFormat;
  key: Buffer;
  status: 'active' | 'grace' | 'retired';
}

export class MemoryKeySource implements LadderKeySource {
  readonly devices = new Map<string, Device>();
  readonly groups = new Map<string, Buffer>();
  readonly generations: Generation[] = [];

  addDevice(identity: string, kpw: Buffer, group?: string): this {
    this.devices.set(identity, group === undefined ? { kpw } : { kpw, group });
    return this;
  }

  addGroup(name: string, kdw: Buffer): this {
    this.groups.set(name, kdw);
    return this;
  }

  /** Adds a generation and makes it the active one; the previous active goes into grace. */
  addIssuer(key: Buffer, format: WrapdataFormat = 'keyladder-v1'): number {
    for (const g of this.generations) if (g.status === 'active') g.status = 'grace';
    const generation = this.generations.length + 1;
    this.generations.push({ generation, format, key, status: 'active' });
    return generation;
  }

  setStatus(generation: number, status: Generation['status']): void {
    const g = this.generations.find((x) => x.generation === generation);
    if (!g) throw new Error(`no generation ${generation}`);
    g.status = status;
  }

  wrappingKey(identity: string, mechanism: 'PSK' | 'MGK'): WrappingKeyLookup {
    const device = this.devices.get(identity);
    if (!device) return { status: 'unknown' };
    if (device.revoked) return { status: 'revoked' };
    if (mechanism === 'PSK') return { status: 'active', key: Buffer.from(device.kpw) };
    const kdw = device.group === undefined ? undefined : this.groups.get(device.group);
    return kdw ? { status: 'active', key: Buffer.from(kdw) } : { status: 'no-group' };
  }

  activeIssuer(): IssuerKey | undefined {
    const g = this.generations.find((x) => x.status === 'active');
    return g && { generation: g.generation, format: g.format, key: Buffer.from(g.key) };
  }

  issuer(generation: number): (IssuerKey & { accepts: boolean }) | undefined {
    const g = this.generations.find((x) => x.generation === generation);
    return g && { generation: g.generation, format: g.format, key: Buffer.from(g.key), accepts: g.status !== 'retired' };
  }

  mslIssuers(): Array<IssuerKey & { accepts: boolean }> {
    return this.generations
      .filter((g) => g.format === 'msl')
      .reverse()
      .map((g) => ({ generation: g.generation, format: g.format, key: Buffer.from(g.key), accepts: g.status !== 'retired' }));
  }
}
