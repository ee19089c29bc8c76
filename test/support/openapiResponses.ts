// Checks one HTTP answer of the responder against its OpenAPI 3.1 description
// (docs/openapi.json): the status is one the path and method may answer, the
// headers the document requires are there with allowed values, the content type
// is one it names, and the body matches its schema (ajv's JSON Schema 2020-12,
// the dialect of OpenAPI 3.1, strict, so a typo in the document is an error too).
//
// Three rules of the document are written as x-keyladder-* extensions, since
// OpenAPI cannot say them: a path it does not list (or a path on a server its
// `servers` do not name) answers as x-keyladder-unknown-path, a method a path does not take as
// x-keyladder-unknown-method (after the caller checks that every path runs), and
// a media type marked x-keyladder-concatenated-json holds JSON texts written one
// after the other (an MSL message), checked as the array of those values.

import { readFileSync } from 'node:fs';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import ajvFormats from 'ajv-formats';
import { splitMessage } from '../../electron/msl/reader.js';

type Json = Record<string, unknown>;

// ajv-formats is CommonJS: its plugin is module.exports.default (TypeScript under NodeNext sees only that).
const addFormats = ajvFormats.default;

export const OPENAPI_FILE = new URL('../../docs/openapi.json', import.meta.url);

/** One answer as a client saw it. */
export interface ObservedResponse {
  readonly method: string;
  /** The request target's path, without the query. */
  readonly path: string;
  readonly status: number;
  /** Header names in lower case. */
  readonly headers: ReadonlyMap<string, string>;
  readonly body: Uint8Array;
}

const COMPONENTS_ID = 'https://keyladder.invalid/openapi/components';
/** The caller checks run on every path and method, listed or not (electron/server/callerChecks.ts). */
const CALLER_REFUSALS: Readonly<Record<string, string>> = { 401: 'Unauthorized', 403: 'OriginNotAllowed', 421: 'HostNotAllowed', 429: 'RateLimited' };
const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

/** The document's local schema references, pointed at the components schema ajv holds. */
function rewriteRefs(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(rewriteRefs);
  if (value === null || typeof value !== 'object') return value;
  const out: Json = {};
  for (const [k, v] of Object.entries(value)) {
    out[k] = k === '$ref' && typeof v === 'string' && v.startsWith('#/components/schemas/') ? `${COMPONENTS_ID}#/$defs/${v.slice('#/components/schemas/'.length)}` : rewriteRefs(v);
  }
  return out;
}

/** type/subtype and parameters, lower case, of a Content-Type value or a media type key. */
function parseMediaType(value: string): { essence: string; params: Map<string, string> } {
  const [essence = '', ...rest] = value.split(';');
  const params = new Map<string, string>();
  for (const p of rest) {
    const eq = p.indexOf('=');
    if (eq > 0) params.set(p.slice(0, eq).trim().toLowerCase(), p.slice(eq + 1).trim().replace(/^"|"$/g, '').toLowerCase());
  }
  return { essence: essence.trim().toLowerCase(), params };
}

/** Whether a media type key of the document (with its parameters) admits an actual Content-Type. */
function mediaTypeAdmits(key: string, actual: string): boolean {
  if (key === '*/*') return true;
  const k = parseMediaType(key), a = parseMediaType(actual);
  if (k.essence !== a.essence) return false;
  return [...k.params].every(([name, value]) => a.params.get(name) === value);
}

export class OpenApiResponses {
  readonly document: Json;
  private readonly ajv: Ajv2020;
  private readonly compiled = new Map<unknown, ValidateFunction>();

  constructor(document: Json = JSON.parse(readFileSync(OPENAPI_FILE, 'utf8')) as Json) {
    this.document = document;
    // strictTuples off: an MSL message is a header then any number of chunks, an open tuple (prefixItems and items).
    this.ajv = new Ajv2020({ strict: true, strictTuples: false, allErrors: true });
    addFormats(this.ajv);
    const schemas = ((document['components'] as Json | undefined)?.['schemas'] ?? {}) as Json;
    this.ajv.addSchema({ $id: COMPONENTS_ID, $defs: rewriteRefs(schemas) as Json });
  }

  /** Compiles a schema of the document (throws when it is not valid JSON Schema 2020-12 under ajv's strict mode). */
  compile(schema: unknown): ValidateFunction {
    let fn = this.compiled.get(schema);
    if (fn === undefined) {
      fn = this.ajv.compile(rewriteRefs(schema) as Json);
      this.compiled.set(schema, fn);
    }
    return fn;
  }

  /** Follows a `#/components/...` reference of the document. */
  resolve<T = Json>(value: unknown): T {
    let v = value as Json;
    for (let hops = 0; typeof v?.['$ref'] === 'string'; hops += 1) {
      if (hops > 10) throw new Error(`a $ref loop at ${String(v['$ref'])}`);
      const ref = v['$ref'] as string;
      if (!ref.startsWith('#/')) throw new Error(`only local references are followed: ${ref}`);
      v = ref.slice(2).split('/').reduce<unknown>((at, part) => (at as Json | undefined)?.[part.replace(/~1/g, '/').replace(/~0/g, '~')], this.document) as Json;
      if (v === undefined) throw new Error(`${ref} names nothing in the document`);
    }
    return v as T;
  }

  /** Every response object the document allows for this request, by status. */
  responsesFor(method: string, path: string): Readonly<Record<string, unknown>> {
    const paths = this.document['paths'] as Json;
    const refusals = Object.fromEntries(Object.entries(CALLER_REFUSALS).map(([status, name]) => [status, { $ref: `#/components/responses/${name}` }]));
    const item = Object.hasOwn(paths, path) ? (paths[path] as Json) : undefined;
    if (item === undefined) {
      const preflight = method === 'OPTIONS' ? { 204: { $ref: '#/components/responses/Preflight' } } : {};
      return { ...refusals, ...preflight, 404: this.document['x-keyladder-unknown-path'] };
    }
    // A path served by some of the document's servers only: the others answer it as a path they do not know.
    const servedHere = Array.isArray(item['servers']) && (item['servers'] as unknown[]).length < ((this.document['servers'] as unknown[] | undefined)?.length ?? 1);
    const elsewhere = servedHere ? { 404: this.document['x-keyladder-unknown-path'] } : {};
    const operation = METHODS.includes(method.toLowerCase()) ? (item[method.toLowerCase()] as Json | undefined) : undefined;
    if (operation === undefined) return { ...refusals, ...elsewhere, 405: this.document['x-keyladder-unknown-method'] };
    return { ...elsewhere, ...(operation['responses'] as Json) };
  }

  /** What is wrong with this answer by the document; empty when nothing is. */
  problems(r: ObservedResponse): string[] {
    const where = `${r.method} ${r.path} → ${r.status}`;
    const responses = this.responsesFor(r.method, r.path);
    const declared = responses[String(r.status)] ?? responses['default'];
    if (declared === undefined) return [`${where}: the document allows no status ${r.status} here (it allows ${Object.keys(responses).join(', ')})`];
    const response = this.resolve(declared);
    const problems: string[] = [];
    for (const [name, header] of Object.entries((response['headers'] ?? {}) as Json)) {
      const h = this.resolve(header);
      const value = r.headers.get(name.toLowerCase());
      if (value === undefined) {
        if (h['required'] === true) problems.push(`${where}: the required header ${name} is missing`);
        continue;
      }
      const check = this.compile(h['schema']);
      if (!check(value)) problems.push(`${where}: header ${name}: ${JSON.stringify(value)} ${this.ajv.errorsText(check.errors)}`);
    }
    const content = response['content'] as Record<string, Json> | undefined;
    // HEAD answers and 204 carry no body (Node drops what a HEAD answer writes).
    if (r.method === 'HEAD' || content === undefined) {
      if (r.body.length > 0) problems.push(`${where}: the document describes no body here, and ${r.body.length} bytes came`);
      return problems;
    }
    const contentType = r.headers.get('content-type');
    if (contentType === undefined) return [...problems, `${where}: no content-type (the document names ${Object.keys(content).join(', ')})`];
    const key = Object.keys(content).find((k) => mediaTypeAdmits(k, contentType));
    if (key === undefined) return [...problems, `${where}: content-type ${contentType} is not one the document names (${Object.keys(content).join(', ')})`];
    const media = content[key]!;
    if (media['schema'] === undefined) return problems;
    let value: unknown;
    const text = new TextDecoder('utf-8', { fatal: true });
    try {
      if (media['x-keyladder-concatenated-json'] === true) value = splitMessage(r.body).map((t) => JSON.parse(t) as unknown);
      else if (parseMediaType(key).essence.endsWith('json')) value = JSON.parse(text.decode(r.body));
      else value = text.decode(r.body);
    } catch (e) {
      return [...problems, `${where}: the body does not parse as ${key}: ${(e as Error).message}`];
    }
    const check = this.compile(media['schema']);
    if (!check(value)) problems.push(`${where}: body: ${this.ajv.errorsText(check.errors, { dataVar: 'body' })}`);
    return problems;
  }
}
