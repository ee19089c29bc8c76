// The operator's MSL test tools: `keyladder msl inspect FILE|-` (a captured
// MSL message decoded with the store's keys, services/mslInspect.ts) and
// `keyladder msl simulate ID` (a simulated MSL device, services/mslSimulate.ts).
// The services do the work; this prints it.
// Everything that came from the message goes through visible(): a message is
// untrusted input, and an identity or an error text could carry terminal escapes.

import { readFileSync, statSync } from 'node:fs';
import { DEFAULT_SPLIT_LIMITS } from '../../msl/reader.js';
import type { Command } from '../command.js';
import { CliError, CliErrorCode } from '../errors.js';
import { EXIT } from '../exitStatus.js';
import type { MslChunkView, MslInspection, MslTokenView } from '../../services/mslInspect.js';
import type { MslSimulationStep } from '../../services/mslSimulate.js';
import { int, oneOf, OPTIONS } from '../options.js';
import { visible } from '../../shared/visibleText.js';

const SECTION = 'MSL server' as const;

/** The largest capture inspect reads: the message layer's own cap on a message. */
const MAX_CAPTURE_BYTES = DEFAULT_SPLIT_LIMITS.maxMessageBytes;

/** The message's bytes: a file read as is, or stdin ("-"); one past the cap is refused before it is read. */
function messageFrom(path: string, readStdin: () => string): Uint8Array {
  const where = path === '-' ? 'stdin' : `'${visible(path, 200)}'`;
  const unreadable = () => new CliError(CliErrorCode.FILE_UNREADABLE, `Cannot read the MSL message from ${where}.`);
  const tooLarge = () => new CliError(CliErrorCode.FILE_INVALID, `The MSL message from ${where} is larger than ${MAX_CAPTURE_BYTES} bytes, the most an MSL message may be here.`);
  let bytes: Uint8Array;
  try {
    if (path !== '-' && statSync(path).size > MAX_CAPTURE_BYTES) throw tooLarge();
    bytes = path === '-' ? new Uint8Array(Buffer.from(readStdin(), 'utf8')) : new Uint8Array(readFileSync(path));
  } catch (e) {
    throw e instanceof CliError ? e : unreadable();
  }
  if (bytes.length > MAX_CAPTURE_BYTES) throw tooLarge();
  return bytes;
}

const tokenLines = (t: MslTokenView, indent: string): string[] => [
  `${indent}serial ${t.serialNumber}  sequence ${t.sequenceNumber}  renewal window ${t.renewalWindow}  expires ${t.expiration}  (${t.state})`,
  t.opened
    ? `${indent}opened with token key generation ${t.opened.tokenKeyGeneration}: identity ${visible(t.opened.identity, 100)}, session keys KCV enc ${t.opened.sessionKcvs.encryption} hmac ${t.opened.sessionKcvs.hmac}`
    : `${indent}not opened: ${visible(t.notOpened ?? '?', 200)}`,
  ...(t.refusedNow ? [`${indent}refused by the responder now: ${visible(t.refusedNow, 200)}`] : []),
];

const chunkLine = (c: MslChunkView): string =>
  `  chunk ${c.sequenceNumber}: ${c.dataBytes} bytes${c.compression ? ` (${visible(c.compression, 20)})` : ''}${c.endOfMessage ? ', end of message' : ''}`;

/** The human text of an inspection, one fact a line. */
export function inspectionText(r: MslInspection): string {
  if (r.unreadable) return `${r.bytes} bytes: not an MSL message this reader accepts: ${r.unreadable.code}${r.unreadable.detail ? ` (${visible(r.unreadable.detail, 200)})` : ''}`;
  const lines = [`${r.bytes} bytes: ${r.kind === 'error' ? 'an error header' : 'a message header'}, ${r.payload.chunks} payload chunk(s)`];
  const s = r.sender!;
  if (s.kind === 'entity') lines.push(`sender: ${s.scheme} entity ${visible(s.identity, 100)}${s.pubkeyid === undefined ? '' : ` (key id ${visible(s.pubkeyid, 100)})`}`);
  else lines.push('sender: a master token', ...tokenLines(s.token, '  '));
  if (r.key) lines.push(`key: ${visible(r.key, 300)}`);
  lines.push(`signature: ${r.signature === 'no key' ? 'no key for this identity' : r.signature}${r.problem ? `: ${visible(r.problem, 300)}` : ''}`);
  const h = r.header;
  if (h) {
    lines.push(`message id ${h.messageId}${h.timestamp ? `  sent ${h.timestamp}` : ''}  renewable ${h.renewable}  handshake ${h.handshake}${h.nonReplayableId === undefined ? '' : `  non-replayable id ${h.nonReplayableId}`}`);
    if (h.sender !== undefined) lines.push(`sender field: ${visible(h.sender, 100)}`);
    if (h.capabilities) lines.push(`capabilities: compression ${h.capabilities.compression.map((c) => visible(c, 20)).join(', ') || 'none'}; languages ${h.capabilities.languages.map((c) => visible(c, 20)).join(', ') || 'none'}`);
    for (const k of h.keyRequests) lines.push(`key request: ${visible(k.scheme, 40)}${k.mechanism ? ` ${visible(k.mechanism, 20)}` : ''}${k.wrapdataBytes === undefined ? '' : ` (wrapdata ${k.wrapdataBytes} bytes)`}`);
    if (h.keyResponse) lines.push(`key response: ${h.keyResponse.scheme} (${h.keyResponse.members.map((m) => visible(m, 40)).join(', ')}), new master token:`, ...tokenLines(h.keyResponse.masterToken, '  '));
    if (h.serviceTokens > 0) lines.push(`service tokens: ${h.serviceTokens}`);
  }
  if (r.error) {
    const e = r.error;
    lines.push(`error: response code ${e.responseCode}${e.internalCode === undefined ? '' : `, internal code ${e.internalCode}`}${e.errorMsg ? `: ${visible(e.errorMsg, 200)}` : ''}  (message id ${e.messageId}${e.timestamp ? `, ${e.timestamp}` : ''})`);
    if (e.userMsg) lines.push(`user message: ${visible(e.userMsg, 200)}`);
  }
  if (r.chunks) lines.push(...r.chunks.map(chunkLine));
  if (r.payloadData) {
    const d = r.payloadData;
    lines.push(d.text !== undefined
      ? `payload (${d.bytes} bytes): ${visible(d.text, 64 * 1024)}`
      : `payload: ${d.bytes} bytes, not shown: ${d.withheld?.reason ?? 'withheld'}${d.withheld?.members.length ? ` (members ${d.withheld.members.map((m) => visible(m, 40)).join(', ')})` : ''}`);
  }
  if (r.chunkProblem) lines.push(`payload not opened: ${visible(r.chunkProblem, 300)}`);
  else if (!r.chunks && r.payload.chunks > 0) lines.push(`payload: encrypted sizes ${r.payload.encryptedBytes.join(', ')} bytes (not opened)`);
  return lines.join('\n');
}

export const mslInspectCommands: readonly Command[] = [
  {
    name: 'msl inspect', section: SECTION, params: 'FILE|-', arity: [1, 1], options: ['show-payload'],
    summary: 'decode a captured MSL request or response with the store\'s keys: sender, signature, header data, master tokens, payload sizes (exit 1 when it does not verify)',
    details: 'FILE is the HTTP body exactly as sent ("-" reads stdin). A device\'s message is checked with its Kpe/Kph (PSK) or its\n' +
      'group\'s Kde/Kdh (MGK), the server\'s with the MSL identity key it names, and a message under a master token with the\n' +
      'token\'s session keys once the store\'s token keys open it. Keys are shown by KCV or thumbprint only, and the payload by\n' +
      'its sizes only (--show-payload: as text when it holds no key members). FILE may hold the body\'s Base64 too. Nothing is written to the store.',
    async run(ctx) {
      const bytes = messageFrom(ctx.args[0]!, () => ctx.io.readStdin());
      await ctx.unlock();
      const report = ctx.services.mslInspect.inspectCapture(bytes, { showPayload: ctx.values['show-payload'] === true });
      ctx.out.print(inspectionText(report), report);
      return report.signature === 'valid' && report.problem === undefined && report.chunkProblem === undefined ? EXIT.OK : EXIT.FAILED;
    },
  },
];

const stepLine = (s: MslSimulationStep): string => {
  const token = s.masterToken ? `  token ${s.masterToken.serial}/${s.masterToken.sequence}` : '';
  const kcvs = s.device ? `  device KCV kwrap ${s.device.kwrap} kenc ${s.device.kenc} khmac ${s.device.khmac}  responder kwrap ${s.responder?.kwrap ?? '------'} kenc ${s.responder?.kenc ?? '------'} khmac ${s.responder?.khmac ?? '------'}` : '';
  const error = s.mslError?.name === undefined ? '' : ` ${s.mslError.name}`;
  const outcome = s.error !== undefined ? `error ${visible(s.error, 200)}${error}` : `${s.renewed ? 'renewed' : 'not renewed'}, echo ${s.kind === 'handshake' ? 'none (handshake)' : s.echoed ? 'intact' : 'WRONG'}`;
  return `${s.ok ? 'ok  ' : 'FAIL'} ${s.step.padEnd(28)} ${outcome}${token}${kcvs}  ${(s.micros / 1000).toFixed(1)} ms${s.note ? `\n     ${s.note}` : ''}`;
};

export const mslSimulateCommands: readonly Command[] = [
  {
    name: 'msl simulate', section: SECTION, params: 'ID', arity: [1, 1], options: ['mechanism', 'rungs', 'url'],
    summary: 'a simulated MSL device (Kpe/Kph from the store): first contact, data, renewal by PSK, --rungs WRAP renewals, a handshake, a non-replayable message; KCVs of both sides compared',
    details: 'In process against this store\'s responder (renewal window 0 s, so every renewal is due), or with --url against a running\n' +
      '`keyladder serve` (start it with --msl-renewal-window 1: a window of up to 5 s is waited for). The responder\'s side is the master token it\n' +
      'issued, opened with this store\'s token keys: the same store must be behind --url. In process the messages are a test, as the\n' +
      'app\'s simulated MSL device: audited as exchange.test (details msl: true), not counted as the device\'s exchanges, the wrapdata\n' +
      'registry untouched. With --url they are real MSL messages to that serve: audited as msl and counted. Exit 1 when a step fails.',
    async run(ctx) {
      const { values } = ctx;
      const options = {
        mechanism: oneOf(values.mechanism, 'mechanism', OPTIONS.mechanism.choices) ?? 'PSK',
        rungs: int(values.rungs, 'rungs', 2, { min: 1, max: 100 })!,
        ...(values.url === undefined ? {} : { url: values.url }),
      };
      await ctx.unlock();
      const report = await ctx.services.mslSimulate.simulate(ctx.args[0]!, options);
      const last = report.allOk ? 'Every step holds: KCVs equal on both sides, every echo intact.' : 'A STEP FAILED: see above.';
      ctx.out.print(`${report.identity} against ${visible(report.target, 200)}\n${report.steps.map(stepLine).join('\n')}\n${last}`, report);
      return report.allOk ? EXIT.OK : EXIT.FAILED;
    },
  },
];
