// The doors stay thin (docs: "One core, three doors"): the HTTP responder and
// the services import nothing from the CLI, nor from the IPC door; the CLI
// nothing from the IPC door; and what the renderer imports at run time from
// electron/shared imports nothing at all. Read on the TypeScript syntax tree,
// type-only imports included, so a comment or a string does not count and a
// type cannot quietly bring a door back in.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const ELECTRON = join(ROOT, 'electron');

/** Every module specifier in `source`: import, export … from, import(), require(), import('…') types. */
function specifiers(source: string): string[] {
  const sf = ts.createSourceFile('x.ts', source, ts.ScriptTarget.ES2023, true, ts.ScriptKind.TS);
  const found: string[] = [];
  const visit = (node: ts.Node): void => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) found.push(node.moduleSpecifier.text);
    else if (ts.isCallExpression(node) && (node.expression.kind === ts.SyntaxKind.ImportKeyword || (ts.isIdentifier(node.expression) && node.expression.text === 'require'))) {
      const arg = node.arguments[0];
      found.push(arg && ts.isStringLiteralLike(arg) ? arg.text : '<computed>');
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)) found.push(node.argument.literal.text);
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return found;
}

const tsFiles = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? tsFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));

/** Each relative import of the files under `dir`, as the path (from electron/) it reaches. */
function importsOf(dir: string): Array<{ file: string; target: string }> {
  return tsFiles(join(ELECTRON, dir)).flatMap((file) =>
    specifiers(readFileSync(file, 'utf8'))
      .filter((s) => s.startsWith('.'))
      .map((s) => ({ file: relative(ELECTRON, file), target: relative(ELECTRON, resolve(dirname(file), s)).split(sep).join('/') })),
  );
}

const into = (target: string, layer: string): boolean => target === layer || target === `${layer}.js` || target === `${layer}.ts` || target.startsWith(`${layer}/`);
const crossing = (dir: string, layers: string[]) => importsOf(dir).filter(({ target }) => layers.some((l) => into(target, l)));

describe('layering', () => {
  it('electron/server imports nothing from the CLI nor the IPC door', () => {
    expect(crossing('server', ['cli', 'ipc'])).toEqual([]);
  });

  it('electron/services imports nothing from the CLI nor the IPC door', () => {
    expect(crossing('services', ['cli', 'ipc'])).toEqual([]);
  });

  it('the CLI imports nothing from the IPC door', () => {
    expect(crossing('cli', ['ipc'])).toEqual([]);
    expect(importsOf('.').filter(({ file, target }) => file === 'cli.ts' && into(target, 'ipc'))).toEqual([]);
  });

  it('electron/shared, which the renderer bundles, imports nothing: no node:, no package, no other module', () => {
    const files = tsFiles(join(ELECTRON, 'shared'));
    expect(files.length).toBeGreaterThan(0);
    for (const file of files) expect(specifiers(readFileSync(file, 'utf8')), relative(ROOT, file)).toEqual([]);
  });

  it('electron/encoding, the leaf every protocol room shares, imports nothing but itself: no node:, no package', () => {
    const files = tsFiles(join(ELECTRON, 'encoding'));
    expect(files.length).toBeGreaterThan(0);
    for (const file of files) expect(specifiers(readFileSync(file, 'utf8')).filter((s) => !s.startsWith('./')), relative(ROOT, file)).toEqual([]);
  });

  it('the protocol rooms import downward only: jwe nothing from ladder, jose or msl; ladder nothing from msl; none of them a door, a service or the store', () => {
    expect(crossing('jwe', ['ladder', 'jose', 'msl'])).toEqual([]);
    expect(crossing('ladder', ['msl', 'jose'])).toEqual([]);
    for (const room of ['encoding', 'jwe', 'ladder', 'jose', 'msl']) expect(crossing(room, ['services', 'server', 'cli', 'ipc', '../db']), room).toEqual([]);
    expect(importsOf('ladder').filter(({ target }) => target.startsWith('../'))).toEqual([]);
  });

  it('(the check sees what it must)', () => {
    expect(specifiers(`import type { Output } from '../cli/output.js';\nexport * from '../cli.js';\ntype T = import('../ipc/channels.js').Channel;\nconst m = await import('../cli/io.js');`)).toEqual(['../cli/output.js', '../cli.js', '../ipc/channels.js', '../cli/io.js']);
    expect(into('cli', 'cli') && into('cli.js', 'cli') && into('cli/commands/audit.js', 'cli')).toBe(true);
    expect(into('client/x.js', 'cli') || into('ipcx.js', 'ipc')).toBe(false);
  });
});
