// What Electronegativity (Doyensec's Electron scanner) checked, as the project's
// own tests, so the scan can stay out of the dependency tree (`npm run
// scan:electron` runs it with npx; docs/electron-security.md). Static checks over
// electron/**/*.ts with TypeScript's parser, plus the navigation lock driven
// with a stand-in webContents. The behaviour of the permission handler, the
// IPC sender check and the CSP is tested in test/ipc/security.test.ts and
// test/ipc/register.test.ts; the window's real settings in the e2e and smoke tests.
import { EventEmitter } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it, vi } from 'vitest';
import { APP_INDEX_URL } from '../../electron/security/appProtocol.js';
import { CSP_HEADER, CSP_META, SECURITY_HEADERS } from '../../electron/security/csp.js';
import { blockNavigation, blockNavigationEverywhere } from '../../electron/security/navigation.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const rel = (file: string) => path.relative(ROOT, file).split(path.sep).join('/');

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) return tsFiles(full);
    return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [full] : [];
  });
}

const SOURCES = tsFiles(path.join(ROOT, 'electron')).map((file) => ({
  file: rel(file),
  sf: ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true),
}));

function nodesOf(sf: ts.SourceFile): ts.Node[] {
  const all: ts.Node[] = [];
  const visit = (n: ts.Node) => { all.push(n); ts.forEachChild(n, visit); };
  visit(sf);
  return all;
}
const ALL = SOURCES.flatMap(({ file, sf }) => nodesOf(sf).map((node) => ({ file, node })));
const where = (file: string, node: ts.Node) => `${file}:${node.getSourceFile().getLineAndCharacterOfPosition(node.getStart()).line + 1}`;
const propName = (p: ts.ObjectLiteralElementLike): string | undefined => (p.name && (ts.isIdentifier(p.name) || ts.isStringLiteral(p.name)) ? p.name.text : undefined);

/** The preferences every window sets, with the value it must set them to (literally). */
const REQUIRED: Readonly<Record<string, boolean>> = {
  contextIsolation: true,
  sandbox: true,
  nodeIntegration: false,
  nodeIntegrationInWorker: false,
  nodeIntegrationInSubFrames: false,
  webSecurity: true,
  allowRunningInsecureContent: false,
  experimentalFeatures: false,
  webviewTag: false,
  navigateOnDragDrop: false,
};

describe('windows are created hardened (CONTEXT_ISOLATION, SANDBOX, NODE_INTEGRATION, WEB_SECURITY, INSECURE_CONTENT, EXPERIMENTAL_FEATURES, AUXCLICK)', () => {
  const windows = ALL.filter(({ node }) => ts.isNewExpression(node) && ts.isIdentifier(node.expression) && ['BrowserWindow', 'BrowserView', 'WebContentsView'].includes(node.expression.text));

  it('there is one window, in electron/security/window.ts', () => {
    expect(windows.map(({ file }) => file)).toEqual(['electron/security/window.ts']);
  });

  it.each(windows.map(({ file, node }) => [where(file, node), node as ts.NewExpression] as const))('%s spells out every protection, and no feature that weakens one', (_at, created) => {
    const options = created.arguments?.[0];
    expect(options && ts.isObjectLiteralExpression(options)).toBe(true);
    const prefs = (options as ts.ObjectLiteralExpression).properties.find((p) => propName(p) === 'webPreferences');
    expect(prefs && ts.isPropertyAssignment(prefs) && ts.isObjectLiteralExpression(prefs.initializer)).toBe(true);
    const props = new Map(((prefs as ts.PropertyAssignment).initializer as ts.ObjectLiteralExpression).properties.map((p) => [propName(p), p] as const));
    for (const [name, value] of Object.entries(REQUIRED)) {
      const p = props.get(name);
      expect(p && ts.isPropertyAssignment(p) ? p.initializer.kind : undefined, name).toBe(value ? ts.SyntaxKind.TrueKeyword : ts.SyntaxKind.FalseKeyword);
    }
    const blink = props.get('disableBlinkFeatures');
    expect(blink && ts.isPropertyAssignment(blink) && ts.isStringLiteral(blink.initializer) ? blink.initializer.text.split(',') : []).toContain('Auxclick');
    for (const weakening of ['enableBlinkFeatures', 'enableRemoteModule', 'affinity', 'additionalArguments', 'safeDialogs']) expect(props.has(weakening), weakening).toBe(false);
    // DevTools only when the app is not packaged: never literally on.
    const devTools = props.get('devTools');
    expect(devTools && ts.isPropertyAssignment(devTools) ? devTools.initializer.kind : undefined).not.toBe(ts.SyntaxKind.TrueKeyword);
  });

  it('nowhere in electron/ is a protection set the other way', () => {
    const wrong = ALL.filter(({ node }) => {
      if (!ts.isPropertyAssignment(node)) return false;
      const name = propName(node);
      if (name === undefined || !(name in REQUIRED)) return false;
      return node.initializer.kind !== (REQUIRED[name] ? ts.SyntaxKind.TrueKeyword : ts.SyntaxKind.FalseKeyword);
    });
    expect(wrong.map(({ file, node }) => `${where(file, node)} ${node.getText()}`)).toEqual([]);
  });
});

describe('no API Electronegativity flags is used (OPEN_EXTERNAL, DANGEROUS_FUNCTIONS, CUSTOM_ARGUMENTS, CERTIFICATE_*, PROTOCOL_HANDLERS, REMOTE_MODULE, SECURITY_WARNINGS_DISABLED)', () => {
  const FORBIDDEN_MEMBERS = new Set([
    'openExternal', 'openPath', 'executeJavaScript', 'executeJavaScriptInIsolatedWorld', 'insertCSS', 'appendSwitch', 'appendArgument',
    'setCertificateVerifyProc', 'registerHttpProtocol', 'registerStringProtocol', 'registerBufferProtocol', 'registerFileProtocol',
    'registerStreamProtocol', 'interceptHttpProtocol', 'interceptStringProtocol', 'interceptBufferProtocol', 'interceptFileProtocol',
    'interceptStreamProtocol', 'setAsDefaultProtocolClient', 'enableRemoteModule',
  ]);
  const FORBIDDEN_STRINGS = new Set(['certificate-error', 'select-client-certificate', 'ELECTRON_DISABLE_SECURITY_WARNINGS', '@electron/remote', 'allowpopups', 'nodeintegration']);

  it('no member call or name among them, no such event or variable', () => {
    const found = ALL.filter(({ node }) => (ts.isPropertyAccessExpression(node) && FORBIDDEN_MEMBERS.has(node.name.text))
      || ((ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) && FORBIDDEN_STRINGS.has(node.text)));
    expect(found.map(({ file, node }) => `${where(file, node)} ${node.getText()}`)).toEqual([]);
  });

  it('no eval, no new Function, no string given to a timer', () => {
    const found = ALL.filter(({ node }) => {
      if (ts.isCallExpression(node) && ts.isIdentifier(node.expression) && node.expression.text === 'eval') return true;
      if ((ts.isNewExpression(node) || ts.isCallExpression(node)) && ts.isIdentifier(node.expression) && node.expression.text === 'Function') return true;
      return ts.isCallExpression(node) && ts.isIdentifier(node.expression) && ['setTimeout', 'setInterval', 'setImmediate'].includes(node.expression.text)
        && node.arguments[0] !== undefined && (ts.isStringLiteral(node.arguments[0]) || ts.isTemplateExpression(node.arguments[0]));
    });
    expect(found.map(({ file, node }) => `${where(file, node)} ${node.getText()}`)).toEqual([]);
  });
});

describe('main sets the app-wide guards before anything opens (LIMIT_NAVIGATION, PERMISSION_REQUEST_HANDLER, HTTP_RESOURCES)', () => {
  const main = SOURCES.find((s) => s.file === 'electron/main.ts')!.sf;
  const topLevelCalls = main.statements.filter(ts.isExpressionStatement).map((s) => s.expression.getText());

  it('the sandbox for every renderer and the navigation lock for every webContents are set at load, before ready', () => {
    expect(topLevelCalls).toContain('app.enableSandbox()');
    expect(topLevelCalls).toContain('blockNavigationEverywhere(app)');
  });

  it('every permission of the default session goes through the deny-all handler', () => {
    const calls = nodesOf(main).filter((n): n is ts.CallExpression => ts.isCallExpression(n) && n.expression.getText() === 'denyPermissions');
    expect(calls.map((c) => c.arguments[0]?.getText())).toEqual(['session.defaultSession']);
  });

  it('windows load the app:// index only: no http(s), no file', () => {
    const loads = ALL.filter(({ node }) => ts.isCallExpression(node) && ts.isPropertyAccessExpression(node.expression) && ['loadURL', 'loadFile'].includes(node.expression.name.text));
    expect(loads.map(({ node }) => `${(node as ts.CallExpression).expression.getText()}(${(node as ts.CallExpression).arguments.map((a) => a.getText()).join(', ')})`)).toEqual(['win.loadURL(APP_INDEX_URL)']);
    expect(APP_INDEX_URL).toMatch(/^app:\/\/keyladder\//);
  });
});

describe('navigation and new windows are refused (LIMIT_NAVIGATION)', () => {
  class FakeContents extends EventEmitter {
    openHandler: ((details: { url: string }) => { action: string }) | undefined;
    setWindowOpenHandler(handler: (details: { url: string }) => { action: string }) { this.openHandler = handler; }
  }

  it('every navigation event of a webContents is prevented, and window.open is denied', () => {
    const contents = new FakeContents();
    blockNavigation(contents as never);
    for (const event of ['will-navigate', 'will-frame-navigate', 'will-redirect', 'will-attach-webview']) {
      const preventDefault = vi.fn();
      contents.emit(event, { preventDefault }, 'https://attacker.example/');
      expect(preventDefault, event).toHaveBeenCalledOnce();
    }
    expect(contents.openHandler?.({ url: 'https://attacker.example/' })).toEqual({ action: 'deny' });
  });

  it('applies to every webContents the app creates, as it is created', () => {
    const app = new EventEmitter();
    blockNavigationEverywhere(app as never);
    const contents = new FakeContents();
    app.emit('web-contents-created', {}, contents);
    const preventDefault = vi.fn();
    contents.emit('will-navigate', { preventDefault }, 'https://attacker.example/');
    expect(preventDefault).toHaveBeenCalledOnce();
    expect(contents.openHandler?.({ url: 'app://keyladder/index.html' })).toEqual({ action: 'deny' });
  });
});

describe('the page and its CSP (CSP_GLOBAL, *_HTML_CHECK)', () => {
  it('index.html takes its CSP from csp.ts, loads only local files, and has no inline script or webview', () => {
    const html = readFileSync(path.join(ROOT, 'renderer', 'index.html'), 'utf8');
    expect(html).toContain('<meta http-equiv="Content-Security-Policy" content="%KEYLADDER_CSP%" />');
    expect(readFileSync(path.join(ROOT, 'vite.config.ts'), 'utf8')).toMatch(/replace\('%KEYLADDER_CSP%', CSP_META\)/);
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//i);
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/i);
    expect(html).not.toMatch(/<webview|nodeintegration|allowpopups|disablewebsecurity|blinkfeatures/i);
  });

  it('the CSP allows no remote script, no inline script, no eval, no framing; main sends it on every app:// response', () => {
    const directives = new Map(CSP_HEADER.split(';').map((d) => d.trim().split(/\s+/)).map(([name, ...values]) => [name, values] as const));
    expect(directives.get('default-src')).toEqual(["'none'"]);
    expect(directives.get('script-src')).toEqual(["'self'"]);
    expect(directives.get('object-src')).toEqual(["'none'"]);
    expect(directives.get('frame-ancestors')).toEqual(["'none'"]);
    expect(CSP_META).not.toMatch(/unsafe-|https?:|\*|data:/);
    expect(SECURITY_HEADERS['Content-Security-Policy']).toBe(CSP_HEADER);
  });
});

describe('IPC goes through the one wrapper, which checks the sender', () => {
  it('only electron/ipc/register.ts registers IPC handlers; main hands it ipcMain', () => {
    const registrations = ALL.filter(({ node }) => ts.isCallExpression(node) && ts.isPropertyAccessExpression(node.expression)
      && node.expression.expression.getText() === 'ipcMain' && ['handle', 'handleOnce', 'on', 'once', 'addListener'].includes(node.expression.name.text));
    expect([...new Set(registrations.map(({ file }) => file))]).toEqual(['electron/ipc/register.ts']);
    const uses = ALL.filter(({ node }) => ts.isIdentifier(node) && node.text === 'ipcMain' && !ts.isImportSpecifier(node.parent));
    expect([...new Set(uses.map(({ file }) => file))].sort()).toEqual(['electron/ipc/register.ts', 'electron/main.ts']);
    const register = SOURCES.find((s) => s.file === 'electron/ipc/register.ts')!.sf.getFullText();
    expect(register).toContain('options.isTrustedSender(frame.url)');
  });

  it('the preload exposes one object, the bridge, and no ipcRenderer', () => {
    const exposed = ALL.filter(({ node }) => ts.isCallExpression(node) && node.expression.getText() === 'contextBridge.exposeInMainWorld');
    expect(exposed.map(({ file, node }) => `${file} ${(node as ts.CallExpression).arguments.map((a) => a.getText()).join(', ')}`)).toEqual(["electron/preload.ts 'keyladder', bridge"]);
  });
});

describe('the Electron version (ELECTRON_VERSION_JSON)', () => {
  const pinned = (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> }).devDependencies['electron']!;

  it('is pinned exactly, and every document that names an Electron release names that one', () => {
    expect(pinned).toMatch(/^\d+\.\d+\.\d+$/);
    const docs = ['README.md', 'electron-builder.yml', ...readdirSync(path.join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];
    const named = docs.flatMap((doc) => [...readFileSync(path.join(ROOT, doc), 'utf8').matchAll(/\b(?:electron@|electron-v|releases\/download\/v|Electron )(\d+\.\d+\.\d+)\b/g)].map((m) => `${doc}: ${m[0]}`));
    expect(named.length).toBeGreaterThan(0);
    expect(named.filter((n) => !n.endsWith(pinned))).toEqual([]);
  });
});
