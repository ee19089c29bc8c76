// The device list as the Devices screen sees it: a prefix search, the total,
// and the pages fetched so far. Only the pages in view are ever fetched
// (server-side paging), so 100,000 devices cost what one screenful costs.

import type { DeviceSummary } from '../../../electron/services/types';
import { asApiError, bridge, call, type ApiError } from '../api/client';

export const PAGE_SIZE = 100;

export class DeviceList {
  prefix = $state('');
  total = $state(0);
  /** Pages by index; replaced whole on every change so readers re-run. */
  pages = $state.raw(new Map<number, readonly DeviceSummary[]>());
  loaded = $state(false);
  error = $state.raw<ApiError | null>(null);
  #inflight = new Set<number>();
  #generation = 0;
  #searchTimer: ReturnType<typeof setTimeout> | undefined;
  /** The rows last in view, fetched again after a reload. */
  #range: readonly [number, number] = [0, 0];

  rowAt(index: number): DeviceSummary | undefined {
    return this.pages.get(Math.floor(index / PAGE_SIZE))?.[index % PAGE_SIZE];
  }

  /** Starts again from the first page (after a search, an import, a provision…). */
  async reload(): Promise<void> {
    this.#generation++;
    this.#inflight.clear();
    this.pages = new Map();
    await this.#fetch(0, this.#generation);
    this.loaded = true;
    this.ensure(...this.#range);
  }

  /** Search as the operator types, 150 ms after the last key. */
  search(prefix: string): void {
    this.prefix = prefix;
    clearTimeout(this.#searchTimer);
    this.#searchTimer = setTimeout(() => void this.reload(), 150);
  }

  /** Makes sure the rows from..to are loaded or loading. */
  ensure(from: number, to: number): void {
    this.#range = [from, to];
    if (this.total > 0) to = Math.min(to, this.total - 1);
    for (let page = Math.floor(from / PAGE_SIZE); page <= Math.floor(to / PAGE_SIZE); page++) {
      if (!this.pages.has(page) && !this.#inflight.has(page)) void this.#fetch(page, this.#generation);
    }
  }

  /** Puts a changed device in place without refetching. */
  replace(device: DeviceSummary): void {
    const pages = new Map(this.pages);
    for (const [index, items] of pages) {
      const at = items.findIndex((d) => d.identity === device.identity);
      if (at >= 0) pages.set(index, items.with(at, device));
    }
    this.pages = pages;
  }

  async #fetch(page: number, generation: number): Promise<void> {
    this.#inflight.add(page);
    try {
      const prefix = this.prefix.trim();
      const result = await call(
        bridge().devices.list({ ...(prefix === '' ? {} : { prefix }), offset: page * PAGE_SIZE, limit: PAGE_SIZE }),
      );
      if (generation !== this.#generation) return;
      this.total = result.total;
      this.pages = new Map(this.pages).set(page, result.items);
      this.error = null;
    } catch (error) {
      if (generation === this.#generation) this.error = asApiError(error);
    } finally {
      this.#inflight.delete(page);
    }
  }
}
