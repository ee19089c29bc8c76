// `serve --log-format json`: the access log as JSON lines, through pino, for a
// supervisor or a log shipper. One object per request: a level (info; warn
// for a 503, whose cause passes; error for any other 5xx), the request's id
// (also its x-request-id response header), and the text line's fields. It
// goes through the same batched writer as the text lines (accessLog.ts), so
// a slow reader costs dropped, counted lines, never the responder's memory.

import pino from 'pino';
import type { AccessLog } from './accessLog.js';
import type { AccessEntry } from './httpResponder.js';

export function jsonAccessLog(out: AccessLog, worker: number): (entry: AccessEntry) => void {
  const logger = pino(
    {
      // The entry carries its own ISO time (the text line's); pino's would be a second, epoch one.
      timestamp: false,
      base: { pid: process.pid, worker },
      formatters: { level: (label) => ({ level: label }) },
    },
    // pino ends each line with a newline; the batched writer adds its own.
    { write: (line: string) => out.write(line.endsWith('\n') ? line.slice(0, -1) : line) },
  );
  return (entry) => {
    const level = entry.status === 503 ? 'warn' : entry.status >= 500 ? 'error' : 'info';
    logger[level](
      { time: entry.time, reqId: entry.requestId, addr: entry.addr, method: entry.method, url: entry.url, status: entry.status, ms: entry.ms, detail: entry.detail },
      'request',
    );
  };
}
