// A 413 sent before the request's body was read must reach the client. Node's
// http server closes a Connection: close socket as soon as the answer is
// written; bytes the client is still sending then arrive at a closed socket,
// the kernel answers them with a reset, and the client loses the 413 it had
// not read yet. The responder half-closes instead and reads (discarding) for a
// bounded time. These clients keep sending past the refusal and read the
// answer only afterwards, which is what a device on a slow link does.
import { connect, createServer, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ResponderServer } from '../../electron/server/httpResponder.js';
import { LINGER_MS, lingerAfterAnswer } from '../../electron/server/lingeringClose.js';
import type { MslApi } from '../../electron/services/api.js';

const noExchanges = { respond: () => ({ ok: false, json: '{}', code: 'INTERNAL_ERROR' }) };
const answered: Buffer[] = [];
const msl: MslApi = { answer: (body) => (answered.push(Buffer.from(body)), { kind: 'answered', body: Buffer.from('ok') }) };
let server: ResponderServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

/** Starts a responder and resolves `refused` when it has logged its 413. */
async function start(): Promise<{ port: number; refused: Promise<void> }> {
  let said!: () => void;
  const refused = new Promise<void>((resolve) => (said = resolve));
  server = new ResponderServer({ exchanges: noExchanges, msl, port: 0, rateLimit: false, accessLog: (line) => (line.includes(' 413 ') ? said() : undefined) });
  const url = new URL(await server.listen());
  return { port: Number(url.port), refused };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Sends `head` and then body bytes for `keepSendingMs` after the server
 * refused, without reading; then stops sending, ends its side and reads
 * everything the server sent. Returns what it read (and any socket error).
 */
async function sendPastTheRefusal(port: number, refused: Promise<void>, head: string, chunk: (block: Buffer) => Buffer, keepSendingMs = 300): Promise<{ text: string; error?: string }> {
  const socket: Socket = connect(port, '127.0.0.1');
  socket.pause(); // read nothing until the end: the answer waits in the kernel's buffer
  let error: string | undefined;
  socket.on('error', (e: NodeJS.ErrnoException) => (error ??= e.code ?? e.message));
  await new Promise((r) => socket.once('connect', r));
  socket.write(head);
  const block = Buffer.alloc(16 * 1024, 0x20);
  let stop = false;
  const pump = async () => {
    while (!stop && !socket.destroyed) {
      if (!socket.write(chunk(block))) await Promise.race([new Promise((r) => socket.once('drain', r)), sleep(20)]);
      await sleep(2);
    }
  };
  const pumping = pump();
  await refused;
  await sleep(keepSendingMs);
  stop = true;
  await pumping;
  if (!socket.destroyed) socket.end();
  const parts: Buffer[] = [];
  socket.on('data', (b: Buffer) => parts.push(b));
  socket.resume();
  if (!socket.closed) await new Promise((r) => socket.once('close', r));
  return { text: Buffer.concat(parts).toString('latin1'), ...(error === undefined ? {} : { error }) };
}

/** The answer read whole: a 413 with Connection: close and every byte of its (chunked or counted) body. */
function expectWhole413(text: string): void {
  const split = text.indexOf('\r\n\r\n');
  expect(split).toBeGreaterThan(0);
  const headers = text.slice(0, split).toLowerCase();
  let rest = text.slice(split + 4);
  expect(headers).toMatch(/^http\/1\.1 413 /);
  expect(headers).toContain('connection: close');
  let body = '';
  if (headers.includes('transfer-encoding: chunked')) {
    for (;;) {
      const eol = rest.indexOf('\r\n');
      expect(eol).toBeGreaterThan(0);
      const size = parseInt(rest.slice(0, eol), 16);
      if (size === 0) break;
      body += rest.slice(eol + 2, eol + 2 + size);
      rest = rest.slice(eol + 2 + size + 2);
    }
  } else {
    body = rest.slice(0, Number(/content-length: (\d+)/.exec(headers)![1]));
  }
  expect(JSON.parse(body).error.code).toBe('PAYLOAD_TOO_LARGE');
}

describe('lingering close after a 413', () => {
  it('a chunked body that grows past the cap: the client still reads the whole 413 though it kept sending', async () => {
    const { port, refused } = await start();
    const head = `POST /msl HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nTransfer-Encoding: chunked\r\n\r\n`;
    const chunked = (b: Buffer) => Buffer.concat([Buffer.from(`${b.length.toString(16)}\r\n`), b, Buffer.from('\r\n')]);
    const { text, error } = await sendPastTheRefusal(port, refused, head, chunked);
    expect(error).toBeUndefined();
    expectWhole413(text);
  }, 15_000);

  it('a declared length over the cap: the client still reads the whole 413 though it kept sending', async () => {
    const { port, refused } = await start();
    const head = `POST /msl HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Length: ${100 * 1024 * 1024}\r\n\r\n`;
    const { text, error } = await sendPastTheRefusal(port, refused, head, (b) => b);
    expect(error).toBeUndefined();
    expectWhole413(text);
  }, 15_000);

  it('does no work for a request pipelined behind the refused body: the 413 is the only answer', async () => {
    answered.length = 0;
    const { port, refused } = await start();
    const socket = connect(port, '127.0.0.1');
    await new Promise((r) => socket.once('connect', r));
    const host = `Host: 127.0.0.1:${port}\r\n`;
    const overCap = 1024 * 1024 + 1;
    socket.write(`POST /msl HTTP/1.1\r\n${host}Content-Length: ${overCap}\r\n\r\n`);
    socket.write(Buffer.concat([Buffer.alloc(overCap, 0x20), Buffer.from(`POST /msl HTTP/1.1\r\n${host}Content-Length: 1\r\n\r\nx`)]));
    await refused;
    await sleep(200);
    socket.end();
    const parts: Buffer[] = [];
    socket.on('data', (b: Buffer) => parts.push(b));
    socket.on('error', () => undefined);
    if (!socket.closed) await new Promise((r) => socket.once('close', r));
    const text = Buffer.concat(parts).toString('latin1');
    expectWhole413(text);
    expect(text.match(/HTTP\/1\.1 /g)).toHaveLength(1);
    expect(answered).toHaveLength(0);
  }, 15_000);

  it('is bounded: a client that never stops sending nor closes is cut off after LINGER_MS, and a shutdown waits for it no longer', async () => {
    const { port, refused } = await start();
    const socket = connect(port, '127.0.0.1');
    socket.on('error', () => undefined);
    await new Promise((r) => socket.once('connect', r));
    socket.write(`POST /msl HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Length: ${100 * 1024 * 1024}\r\n\r\n`);
    socket.write(Buffer.alloc(1024));
    await refused;
    // Keep the connection open and trickling; a shutdown must not wait for it past the bound.
    const trickle = setInterval(() => socket.write(Buffer.alloc(16)), 50);
    const began = performance.now();
    await server!.close(30_000);
    server = undefined;
    const waited = performance.now() - began;
    clearInterval(trickle);
    // It lingered (the refused client could still send), and no longer than its bound.
    expect(waited).toBeGreaterThan(LINGER_MS / 2);
    expect(waited).toBeLessThan(LINGER_MS + 1_000);
    socket.resume();
    if (!socket.closed) await new Promise((r) => socket.once('close', r));
  }, 15_000);

  it('is bounded in bytes too: a client that floods past the byte bound is cut off before the time bound', async () => {
    let closedAt = 0;
    let lingerBegan = 0;
    const tcp = createServer((socket) => {
      socket.on('error', () => undefined);
      socket.on('close', () => (closedAt = performance.now()));
      socket.resume(); // read and drop, as node:http's parser does
      lingerAfterAnswer(socket, 60_000, 256 * 1024);
      socket.write('refused\n');
      lingerBegan = performance.now();
      socket.destroySoon();
    });
    await new Promise<void>((r) => tcp.listen(0, '127.0.0.1', r));
    try {
      // Half-open: it does not answer the server's FIN with its own (that would end the linger at once).
      const client = connect({ port: (tcp.address() as { port: number }).port, host: '127.0.0.1', allowHalfOpen: true });
      client.on('error', () => undefined);
      client.resume();
      const block = Buffer.alloc(64 * 1024);
      const giveUpAt = performance.now() + 12_000;
      while (!client.closed && closedAt === 0 && performance.now() < giveUpAt) {
        client.write(block);
        await sleep(5);
      }
      if (closedAt === 0) await sleep(100);
      expect(closedAt).toBeGreaterThan(0);
      expect(closedAt - lingerBegan).toBeLessThan(10_000);
      client.destroy();
    } finally {
      await new Promise((r) => tcp.close(r));
    }
  }, 20_000);
});
