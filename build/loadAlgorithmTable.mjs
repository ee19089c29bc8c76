// The JOSE algorithm table (electron/jose/algorithms.ts) for the build scripts that make vector
// files: the table is TypeScript with no imports, so its types are stripped and it is loaded as it is.

import { readFileSync } from 'node:fs';
import ts from 'typescript';

export function loadAlgorithmTable() {
  const source = readFileSync(new URL('../electron/jose/algorithms.ts', import.meta.url), 'utf8');
  const { outputText } = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } });
  return import(`data:text/javascript;base64,${Buffer.from(outputText).toString('base64')}`);
}
