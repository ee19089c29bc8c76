// docs/protocol.md's error tables list exactly the (code, reason) pairs the
// protocol core and the wrapdata registry can throw: read from the code's syntax tree, so the table
// cannot drift from the code in either direction.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { MslErrorCode } from '../../electron/ladder/errors.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
// The protocol core, and the store's responder's own refusals (the wrapdata registry).
const SOURCES = [
  ...['electron/ladder', 'electron/jwe'].flatMap((d) => readdirSync(join(ROOT, d)).filter((f) => f.endsWith('.ts')).map((f) => join(ROOT, d, f))),
  join(ROOT, 'electron/services/wrapdataRegistry.ts'),
];

const strings = (node: ts.Node): string[] => {
  const out: string[] = [];
  const visit = (n: ts.Node) => {
    if (ts.isStringLiteral(n) || ts.isNoSubstitutionTemplateLiteral(n)) out.push(n.text);
    ts.forEachChild(n, visit);
  };
  visit(node);
  return out;
};

/** The code named by `MslErrorCode.X` (or undefined). */
const codeOf = (node: ts.Node | undefined): string | undefined =>
  node && ts.isPropertyAccessExpression(node) && ts.isIdentifier(node.expression) && node.expression.text === 'MslErrorCode' ? node.name.text : undefined;

function thrownPairs(): Set<string> {
  const files = SOURCES.map((f) => ts.createSourceFile(f, readFileSync(f, 'utf8'), ts.ScriptTarget.ES2023, true));
  // Helpers: functions whose body makes a LadderError with a fixed code from their first parameter, or call such a helper.
  const helpers = new Map<string, string>();
  const bodyOf = (n: ts.Node): ts.Node | undefined => {
    if (ts.isVariableDeclaration(n) && n.initializer && ts.isArrowFunction(n.initializer)) return n.initializer.body;
    if (ts.isFunctionDeclaration(n)) return n.body;
    return undefined;
  };
  const nameOf = (n: ts.Node) => (ts.isVariableDeclaration(n) || ts.isFunctionDeclaration(n)) && n.name && ts.isIdentifier(n.name) ? n.name.text : undefined;
  for (let pass = 0; pass < 3; pass++) {
    for (const sf of files) {
      const visit = (n: ts.Node) => {
        const name = nameOf(n), body = bodyOf(n);
        if (name && body) {
          const inner = (ts.isBlock(body) ? body.statements.find(ts.isReturnStatement)?.expression : body) as ts.Expression | undefined;
          if (inner && ts.isNewExpression(inner) && ts.isIdentifier(inner.expression) && inner.expression.text === 'LadderError' && inner.arguments?.[1] && ts.isIdentifier(inner.arguments[1])) {
            const code = codeOf(inner.arguments[0]);
            if (code) helpers.set(name, code);
          } else if (inner && ts.isCallExpression(inner) && ts.isIdentifier(inner.expression) && helpers.has(inner.expression.text) && inner.arguments[0] && ts.isIdentifier(inner.arguments[0])) {
            helpers.set(name, helpers.get(inner.expression.text)!);
          }
        }
        ts.forEachChild(n, visit);
      };
      visit(sf);
    }
  }
  const pairs = new Set<string>();
  for (const sf of files) {
    const visit = (n: ts.Node) => {
      if (ts.isNewExpression(n) && ts.isIdentifier(n.expression) && n.expression.text === 'LadderError') {
        const code = codeOf(n.arguments?.[0]);
        if (code && n.arguments?.[1]) for (const reason of strings(n.arguments[1])) pairs.add(`${code} ${reason}`);
      } else if (ts.isCallExpression(n) && ts.isIdentifier(n.expression) && helpers.has(n.expression.text) && n.arguments[0]) {
        for (const reason of strings(n.arguments[0])) pairs.add(`${helpers.get(n.expression.text)} ${reason}`);
      }
      ts.forEachChild(n, visit);
    };
    visit(sf);
  }
  return pairs;
}

function documentedPairs(): Set<string> {
  const doc = readFileSync(join(ROOT, 'docs', 'protocol.md'), 'utf8');
  const pairs = new Set<string>();
  for (const m of doc.matchAll(/^\| ([A-Z_]+) \| ([A-Z0-9_]+) \| .+ \|$/gm)) pairs.add(`${m[1]} ${m[2]}`);
  return pairs;
}

describe('the error catalogue', () => {
  const thrown = thrownPairs();
  const documented = documentedPairs();

  it('finds what the code throws (the extraction works)', () => {
    expect(thrown.size).toBeGreaterThan(40);
    for (const pair of ['MSL_PARSE_ERROR BAD_BASE64', 'KEYX_WRAPPING_KEY_MISSING WRAPDATA_INVALID', 'JWE_DECRYPTION_ERROR JWE_DECRYPTION_FAILED', 'INVALID_JWK JWK_ALG', 'KEYX_WRAPPING_KEY_MISSING WRAPDATA_EMPTY']) {
      expect(thrown).toContain(pair);
    }
  });

  it('docs/protocol.md lists every (code, reason) the code throws, and no other', () => {
    expect([...thrown].filter((p) => !documented.has(p)).sort(), 'thrown but not documented').toEqual([]);
    expect([...documented].filter((p) => !thrown.has(p)).sort(), 'documented but never thrown').toEqual([]);
  });

  it('every code used is an MslErrorCode', () => {
    for (const pair of thrown) expect(Object.values(MslErrorCode)).toContain(pair.split(' ')[0]);
  });
});
