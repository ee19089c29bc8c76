// The parent side of the crash-safety tests: a private copy of the compiled
// code for the children (dist/ can be rebuilt under us by a concurrent test
// run), spawning test/support/crashChild.mjs, and killing it with SIGKILL at a
// chosen moment.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { childNodeArgs } from './runtime.js';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const CHILD = join(ROOT, 'test', 'support', 'crashChild.mjs');
/** The sources the children run, compiled: the services and everything under them. */
const SOURCES = ['db', 'electron/services', 'electron/ladder', 'electron/jwe'];

function tsFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...tsFiles(path));
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(path);
  }
  return out;
}

function distIsStale(): boolean {
  for (const source of SOURCES.flatMap((s) => tsFiles(join(ROOT, s)))) {
    const compiled = join(ROOT, 'dist', relative(ROOT, source)).replace(/\.ts$/, '.js');
    if (!existsSync(compiled) || statSync(compiled).mtimeMs < statSync(source).mtimeMs) return true;
  }
  return false;
}

/**
 * Compiles dist/ if it is older than the sources, then copies the compiled
 * db/ and electron/ into a folder of our own (with the project's
 * node_modules linked in), so the children never load a half-written file.
 */
export function prepareBuild(): { dir: string; cleanup(): void } {
  if (distIsStale()) {
    const tsc = spawnSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(ROOT, 'tsconfig.build.json')], { cwd: ROOT, encoding: 'utf8' });
    if (!existsSync(join(ROOT, 'dist', 'db', 'store.js'))) throw new Error(`tsc did not build dist/: ${tsc.stdout}${tsc.stderr}`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'keyladder-crash-build-'));
  for (const part of ['db', 'electron']) cpSync(join(ROOT, 'dist', part), join(dir, part), { recursive: true });
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ type: 'module' }));
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface ChildConfig {
  readonly build: string;
  readonly store: string;
  readonly mode: 'import' | 'rotate' | 'passphrase' | 'archive' | 'restore';
  /** restore: the backup files to restore in turn. */
  readonly backups?: readonly string[];
  readonly passphrase: string;
  readonly other?: string;
  readonly rows?: number;
  readonly prefix: string;
  readonly kdfLogN: number;
  /** archive: the folder of the archive files, and the stage to stop at (killed there). */
  readonly out?: string;
  readonly stopAt?: 'written' | 'recorded' | 'trimming';
}

export interface ChildEvent {
  readonly at: number;
  readonly line: string;
}

/** A running child, with the events it has reported so far. */
export class Child {
  readonly events: ChildEvent[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly process: ChildProcess;
  private stderr = '';
  private waiters: Array<{ test: (line: string) => boolean; resolve: () => void }> = [];

  constructor(config: ChildConfig) {
    this.process = spawn(process.execPath, [...childNodeArgs(), CHILD, JSON.stringify(config)], {
      env: { PATH: process.env['PATH'] ?? '', KEYLADDER_ALLOW_WEAK_KDF: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let buffered = '';
    this.process.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      buffered += chunk;
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        this.events.push({ at: performance.now(), line });
        for (const w of [...this.waiters]) {
          if (w.test(line)) {
            this.waiters.splice(this.waiters.indexOf(w), 1);
            w.resolve();
          }
        }
      }
    });
    this.process.stderr!.setEncoding('utf8').on('data', (chunk: string) => { this.stderr += chunk; });
    // 'close', not 'exit': by then every line the child wrote before it died has been read.
    this.exited = new Promise((resolve) => this.process.on('close', (code, signal) => resolve({ code, signal })));
  }

  /** Resolves when the child reports a line that passes `test`; rejects if it exits first. */
  waitFor(test: (line: string) => boolean, timeoutMs = 30_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`child did not report in ${timeoutMs} ms; stderr: ${this.stderr}`)), timeoutMs);
      this.waiters.push({ test, resolve: () => { clearTimeout(timer); resolve(); } });
      void this.exited.then(({ code, signal }) => {
        clearTimeout(timer);
        reject(new Error(`child exited (code ${code}, signal ${signal}) before reporting; stderr: ${this.stderr}`));
      });
    });
  }

  /** SIGKILL now; resolves once it is gone. Throws if it had already died on its own. */
  async kill(): Promise<void> {
    if (this.process.exitCode !== null || this.process.signalCode !== null) {
      throw new Error(`the child had ended by itself (code ${this.process.exitCode}, signal ${this.process.signalCode}); stderr: ${this.stderr}`);
    }
    this.process.kill('SIGKILL');
    const { signal } = await this.exited;
    if (signal !== 'SIGKILL') throw new Error(`the child ended with ${signal}, not SIGKILL; stderr: ${this.stderr}`);
  }

  /** Lines seen since the child unlocked. */
  count(prefix: string): number {
    return this.events.filter((e) => e.line.startsWith(prefix)).length;
  }

  last(): string | undefined {
    return this.events.at(-1)?.line;
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

