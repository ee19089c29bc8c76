// The requestor must run unchanged in a browser: its whole import graph
// (requestor, jweDecrypt, messages, errors, the encoding leaf, the JWE key
// table and the key unwrapper seam) imports nothing
// from node:, no Node built-in, no package, and uses no Node-only global.
// Checked on the TypeScript syntax tree, so comments and strings do not count
// and nothing slips through a clever spelling of an import.
import { readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const ELECTRON = join(ROOT, 'electron');
const LADDER = join(ELECTRON, 'ladder');
const BROWSER_SIDE = ['ladder/requestor.ts', 'ladder/jweDecrypt.ts', 'ladder/messages.ts', 'ladder/errors.ts', 'encoding/base64.ts', 'encoding/bytes.ts', 'encoding/strictJson.ts', 'jwe/keyKinds.ts', 'jwe/keyUnwrapper.ts'];
const NODE_GLOBALS = new Set(['Buffer', 'process', 'require', 'module', 'exports', '__dirname', '__filename', 'global', 'setImmediate', 'NodeJS']);
const BUILTINS = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));

interface Analysis {
  /** Every module specifier, with whether it is erased at runtime (import type / export type). */
  readonly imports: { readonly specifier: string; readonly typeOnly: boolean }[];
  /** Node-only globals the code refers to. */
  readonly nodeGlobals: string[];
}

function analyse(source: string, fileName = 'x.ts'): Analysis {
  const sf = ts.createSourceFile(fileName, source, ts.ScriptTarget.ES2023, true, ts.ScriptKind.TS);
  const imports: Analysis['imports'] = [];
  const nodeGlobals: string[] = [];
  const visit = (node: ts.Node): void => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      const typeOnly = ts.isImportDeclaration(node)
        ? (node.importClause?.isTypeOnly ?? false) ||
          (node.importClause !== undefined && node.importClause.name === undefined && node.importClause.namedBindings !== undefined && ts.isNamedImports(node.importClause.namedBindings) && node.importClause.namedBindings.elements.length > 0 && node.importClause.namedBindings.elements.every((e) => e.isTypeOnly))
        : node.isTypeOnly;
      imports.push({ specifier: node.moduleSpecifier.text, typeOnly });
    } else if (ts.isCallExpression(node) && (node.expression.kind === ts.SyntaxKind.ImportKeyword || (ts.isIdentifier(node.expression) && node.expression.text === 'require'))) {
      const arg = node.arguments[0];
      imports.push({ specifier: arg && ts.isStringLiteralLike(arg) ? arg.text : '<computed>', typeOnly: false });
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)) {
      imports.push({ specifier: node.argument.literal.text, typeOnly: true });
    }
    if (ts.isIdentifier(node) && NODE_GLOBALS.has(node.text)) {
      const p = node.parent;
      const isMemberName = (ts.isPropertyAccessExpression(p) && p.name === node) || (ts.isPropertyAssignment(p) && p.name === node) || (ts.isPropertySignature(p) && p.name === node) || (ts.isMethodDeclaration(p) && p.name === node);
      if (!isMemberName) nodeGlobals.push(node.text);
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return { imports, nodeGlobals };
}

/** The files reachable from `entries` through relative imports (type-only ones included, to be strict). */
function graph(entries: string[]): Map<string, Analysis> {
  const seen = new Map<string, Analysis>();
  const queue = entries.map((e) => join(LADDER, e));
  while (queue.length > 0) {
    const file = queue.shift()!;
    if (seen.has(file)) continue;
    const analysis = analyse(readFileSync(file, 'utf8'), file);
    seen.set(file, analysis);
    for (const { specifier } of analysis.imports) {
      if (specifier.startsWith('.')) queue.push(resolve(dirname(file), specifier.replace(/\.js$/, '.ts')));
    }
  }
  return seen;
}

describe('the requestor runs in a browser', () => {
  const files = graph(['requestor.ts']);

  it('its import graph is exactly the browser side: ladder requestor, jweDecrypt, messages, errors; encoding; the JWE key table and unwrapper seam', () => {
    expect([...files.keys()].map((f) => relative(ELECTRON, f)).sort()).toEqual([...BROWSER_SIDE].sort());
  });

  it.each(BROWSER_SIDE)('%s imports nothing from node:, no built-in, no package; only files of the graph', (name) => {
    const analysis = files.get(join(ELECTRON, name))!;
    expect(analysis).toBeDefined();
    for (const { specifier } of analysis.imports) {
      expect(specifier.startsWith('node:'), specifier).toBe(false);
      expect(BUILTINS.has(specifier), specifier).toBe(false);
      expect(specifier, 'a relative import of the graph').toMatch(/^(\.\/|\.\.\/[a-z]+\/)[A-Za-z0-9]+\.js$/);
      expect(BROWSER_SIDE).toContain(relative(ELECTRON, resolve(dirname(join(ELECTRON, name)), specifier.replace(/\.js$/, '.ts'))));
    }
  });

  it.each(BROWSER_SIDE)('%s uses no Node-only global (Buffer, process, require, …)', (name) => {
    expect(files.get(join(ELECTRON, name))!.nodeGlobals).toEqual([]);
  });

  it('uses only Web Crypto and the web platform\'s atob/btoa/TextEncoder for what Node would give it', () => {
    const text = BROWSER_SIDE.map((f) => readFileSync(join(ELECTRON, f), 'utf8')).join('\n');
    expect(text).toMatch(/globalThis\.crypto\.subtle/);
    expect(text).not.toMatch(/from 'node:/);
  });
});

describe('the checker itself catches what it must (so the tests above can fail)', () => {
  it('sees node: imports, built-ins, packages, require and dynamic import, type-only or not', () => {
    const a = analyse(`import { createHash } from 'node:crypto';\nimport fs from 'fs';\nimport type { X } from 'jose';\nexport * from 'buffer';\nconst m = require('path');\nconst n = await import('node:os');\ntype T = import('node:stream').Readable;`);
    expect(a.imports).toEqual([
      { specifier: 'node:crypto', typeOnly: false },
      { specifier: 'fs', typeOnly: false },
      { specifier: 'jose', typeOnly: true },
      { specifier: 'buffer', typeOnly: false },
      { specifier: 'path', typeOnly: false },
      { specifier: 'node:os', typeOnly: false },
      { specifier: 'node:stream', typeOnly: true },
    ]);
  });

  it('sees Node globals in code but not in comments, strings or member names', () => {
    const a = analyse(`// Buffer in a comment\nconst s = 'process';\nconst o = { Buffer: 1 };\no.process;\nconst b = Buffer.from('x');\nif (process.env) {}\nlet t: NodeJS.Timeout;`);
    expect(a.nodeGlobals).toEqual(['Buffer', 'process', 'NodeJS']);
  });

  it('finds node:crypto in the responder\'s graph and Buffer in wrapdata.ts (the Node side)', () => {
    const responder = graph(['responder.ts']);
    const all = [...responder.values()];
    expect(all.some((a) => a.imports.some((i) => i.specifier === 'node:crypto'))).toBe(true);
    expect(responder.get(join(LADDER, 'wrapdata.ts'))!.nodeGlobals).toContain('Buffer');
  });
});
