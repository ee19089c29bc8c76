// The responder's Prometheus metrics (GET /metrics), through prom-client.
//
// Each `serve` worker keeps its own registry; the supervising process
// aggregates the workers' registries (prom-client's AggregatorRegistry, over
// node:cluster's IPC channel) when /metrics is asked for, so one scrape sees
// the whole responder whichever worker (or the separate metrics listener)
// answers it.
//
// No label ever carries an identity, an address or key material: the door, the
// outcome and a stable error code only. A code that does not look like one of
// ours (upper-case words joined by underscores) is counted as OTHER, so that a
// future code path that put something else in `code` could not leak it here.

import promClient from 'prom-client';
import type { Counter, Gauge, Histogram, Registry as RegistryType } from 'prom-client';

// prom-client is CommonJS: take its classes off the default export (as accessLog.ts does for sonic-boom).
const { Registry, Counter: CounterClass, Gauge: GaugeClass, Histogram: HistogramClass, collectDefaultMetrics } = promClient;

/** Where a request came in: the two exchange doors. */
export type Door = 'keyx' | 'msl';
/** ok: answered; refused: an error answer (an MSL error header included); decoy: a refusal answered as --uniform-refusals asks; error: an unexpected failure. */
export type Outcome = 'ok' | 'refused' | 'decoy' | 'error';

const STABLE_CODE = /^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$/;
/** A code as a label value: a stable code of ours, or OTHER. */
export const codeLabel = (code: string | undefined): string => (code !== undefined && code.length <= 64 && STABLE_CODE.test(code) ? code : 'OTHER');

/** Latency buckets in seconds: an exchange takes about a millisecond; a stalled store write, seconds. */
const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

export class ServeMetrics {
  readonly registry: RegistryType;
  private readonly exchanges: Counter<'door' | 'outcome' | 'code'>;
  private readonly latency: Histogram<'door' | 'outcome'>;
  private readonly inFlight: Gauge;
  private readonly doorRefusals: Counter<'code'>;
  private readonly auditWrites: Counter<'outcome'>;
  private readonly auditRecords: Counter;
  private readonly lookups: Counter<'result'>;
  private readonly lookupLatency: Histogram;

  /**
   * `worker`: this `serve` worker's number. The process's own metrics then
   * carry it as a `worker` label, so the supervisor's aggregation keeps one
   * series per worker: summed, a limit such as process_max_fds or a start
   * time would mean nothing. The exchange metrics carry no worker label, so
   * they are summed into the whole responder's counts.
   */
  constructor(options: { defaultMetrics?: boolean; worker?: number } = {}) {
    this.registry = new Registry();
    const registers = [this.registry];
    this.exchanges = new CounterClass({
      name: 'keyladder_exchanges_total', help: 'Key exchanges (POST /v1/keyx) and MSL messages (POST /msl) by outcome and error code.',
      labelNames: ['door', 'outcome', 'code'], registers,
    });
    this.latency = new HistogramClass({
      name: 'keyladder_exchange_duration_seconds', help: 'Time from the first byte of a request to its answer, by door and outcome.',
      labelNames: ['door', 'outcome'], buckets: LATENCY_BUCKETS, registers,
    });
    this.inFlight = new GaugeClass({ name: 'keyladder_requests_in_flight', help: 'Exchange requests being read or answered now.', registers });
    this.doorRefusals = new CounterClass({
      name: 'keyladder_door_refusals_total', help: 'Requests refused at the door before any exchange (rate limit, Host, Origin, token, content type, size).',
      labelNames: ['code'], registers,
    });
    this.auditWrites = new CounterClass({
      name: 'keyladder_audit_batch_writes_total', help: 'Batched writes of exchange records to the audit log: ok, busy (another writer held the lock; retried) or failed (exchanges are refused until one succeeds).',
      labelNames: ['outcome'], registers,
    });
    this.auditRecords = new CounterClass({ name: 'keyladder_audit_records_written_total', help: 'Exchange audit records written by batched writes.', registers });
    this.lookups = new CounterClass({
      name: 'keyladder_store_lookups_total', help: 'Device lookups in the store for an exchange: found, not_found, or error (the store refused the read).',
      labelNames: ['result'], registers,
    });
    this.lookupLatency = new HistogramClass({ name: 'keyladder_store_lookup_duration_seconds', help: 'Time of a device lookup in the store.', buckets: LATENCY_BUCKETS, registers });
    // The process's own: CPU, memory, event loop lag, GC, handles (prom-client's defaults).
    if (options.defaultMetrics !== false) {
      const labels = options.worker === undefined ? {} : { worker: String(options.worker) };
      collectDefaultMetrics({ register: this.registry, prefix: 'keyladder_', labels });
    }
  }

  exchange(door: Door, outcome: Outcome, code: string | undefined, seconds: number): void {
    this.exchanges.inc({ door, outcome, code: outcome === 'ok' ? 'none' : codeLabel(code) });
    this.latency.observe({ door, outcome }, seconds);
  }

  requestStarted(): void {
    this.inFlight.inc();
  }

  requestEnded(): void {
    this.inFlight.dec();
  }

  doorRefusal(code: string): void {
    this.doorRefusals.inc({ code: codeLabel(code) });
  }

  auditWrite(outcome: 'ok' | 'busy' | 'failed', records: number): void {
    this.auditWrites.inc({ outcome });
    if (outcome === 'ok' && records > 0) this.auditRecords.inc(records);
  }

  storeLookup(result: 'found' | 'not_found' | 'error', seconds: number): void {
    this.lookups.inc({ result });
    this.lookupLatency.observe(seconds);
  }

  /** This process's metrics, in Prometheus text format. */
  async text(): Promise<MetricsText> {
    return { contentType: this.registry.contentType, text: await this.registry.metrics() };
  }
}

export interface MetricsText {
  readonly contentType: string;
  readonly text: string;
}

/**
 * In a `serve` worker: answers the supervisor's scrapes (prom-client's
 * cluster messages) with this worker's registry.
 */
export function answerClusterScrapes(registry: RegistryType): void {
  // The constructor adds the worker's message listener (once per process).
  new promClient.AggregatorRegistry();
  promClient.AggregatorRegistry.setRegistries([registry]);
}

/** In the supervisor: gathers every worker's registry into one scrape. */
export function clusterScraper(): () => Promise<MetricsText> {
  const aggregator = new promClient.AggregatorRegistry();
  return async () => ({ contentType: aggregator.contentType, text: await aggregator.clusterMetrics() });
}
