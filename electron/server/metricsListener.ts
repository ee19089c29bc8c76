// `serve --metrics-listen HOST:PORT`: GET /metrics on an address of its own,
// run by the supervising process (which gathers every worker's metrics).
//
// It answers nothing else, and asks no token: it is meant for a management
// address that only the monitoring system reaches. What it shows carries no
// identity and no key (metrics.ts), only counts and times.

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import type { MetricsText } from './metrics.js';

export interface MetricsListener {
  /** http://HOST:PORT */
  readonly address: string;
  close(): Promise<void>;
}

const json = (res: ServerResponse, status: number, code: string, message: string, headers: Record<string, string> = {}): void => {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff', ...headers });
  res.end(JSON.stringify({ error: { code, message } }));
};

export async function listenMetrics(at: { readonly host: string; readonly port: number }, scrape: () => Promise<MetricsText>): Promise<MetricsListener> {
  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    req.resume();
    // Every answer of serve carries a request id, whichever address answers (docs/openapi.json holds one rule);
    // this listener writes no access log, so the id names the scrape for the scraper only.
    res.setHeader('x-request-id', randomUUID());
    if ((req.url ?? '/').split('?')[0] !== '/metrics') return json(res, 404, 'NOT_FOUND', 'This address answers GET /metrics only.');
    if (req.method !== 'GET') return json(res, 405, 'METHOD_NOT_ALLOWED', 'Use GET on /metrics.', { allow: 'GET' });
    scrape().then(
      (m) => {
        res.writeHead(200, { 'content-type': m.contentType, 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
        res.end(m.text);
      },
      () => json(res, 503, 'METRICS_UNAVAILABLE', 'The metrics could not be gathered from every worker; try again.', { 'retry-after': '1' }),
    );
  };
  const server = createServer({ requestTimeout: 10_000, headersTimeout: 5_000, keepAliveTimeout: 5_000 }, handler);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(at.port, at.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const a = server.address() as AddressInfo;
  return {
    address: `http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}
