// The electron-free parts of the hardening: the trusted-sender rule, the
// app:// file resolver, the CSP and the idle lock.
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it, vi } from 'vitest';
import { resolveAppFile } from '../../electron/security/appProtocol.js';
import { CSP_HEADER, CSP_META } from '../../electron/security/csp.js';
import { IdleLock, type Timers } from '../../electron/security/idleLock.js';
import { isPermissionAllowed } from '../../electron/security/permissions.js';
import { trustedSender } from '../../electron/security/trustedSender.js';

describe('trustedSender', () => {
  it('trusts exactly the app origins it is given', () => {
    const check = trustedSender({ origins: ['app://keyladder', 'http://127.0.0.1:5173'] });
    expect(check('app://keyladder/index.html')).toBe(true);
    expect(check('app://keyladder/')).toBe(true);
    expect(check('http://127.0.0.1:5173/index.html?x#y')).toBe(true);
    for (const url of [
      'app://keyladder.evil/index.html', 'app://evil.keyladder/', 'app://user:pw@keyladder/', 'https://keyladder/',
      'http://127.0.0.1:5174/', 'http://127.0.0.1/', 'http://localhost:5173/', 'file:///index.html', 'about:blank', '', null, undefined, 'app:keyladder',
    ]) {
      expect(check(url), String(url)).toBe(false);
    }
  });

  it('trusts the app index over file://, and no other file', () => {
    const index = path.resolve('/opt/KeyLadder/resources/app.asar/dist/renderer/index.html');
    const check = trustedSender({ fileIndex: index });
    expect(check(pathToFileURL(index).href)).toBe(true);
    expect(check(`${pathToFileURL(index).href}#/devices`)).toBe(true);
    expect(check(pathToFileURL(path.join(path.dirname(index), 'other.html')).href)).toBe(false);
    expect(check(pathToFileURL('/tmp/index.html').href)).toBe(false);
    expect(check('file://remote-host/opt/KeyLadder/resources/app.asar/dist/renderer/index.html')).toBe(false);
    expect(trustedSender({})(pathToFileURL(index).href)).toBe(false);
  });
});

describe('resolveAppFile', () => {
  const root = path.resolve('/srv/renderer');
  it('serves files inside the renderer folder', () => {
    expect(resolveAppFile(root, 'app://keyladder/index.html')).toBe(path.join(root, 'index.html'));
    expect(resolveAppFile(root, 'app://keyladder/')).toBe(path.join(root, 'index.html'));
    expect(resolveAppFile(root, 'app://keyladder/assets/index-abc.js?v=1')).toBe(path.join(root, 'assets', 'index-abc.js'));
    // URL parsing removes dot segments before we see the path: this stays inside the root.
    expect(resolveAppFile(root, 'app://keyladder/../index.html')).toBe(path.join(root, 'index.html'));
  });
  it('refuses everything else', () => {
    for (const url of [
      'app://keyladder/..%2f..%2fetc%2fpasswd.html', 'app://keyladder/assets/..%2f..%2fsecret.js',
      'app://keyladder/a%5c..%5c..%5cx.js', 'app://other/index.html', 'https://keyladder/index.html', 'app://keyladder/store.db',
      'app://keyladder/%00.js', 'app://keyladder/%E0%A4%A', 'nonsense',
    ]) {
      expect(resolveAppFile(root, url), url).toBeNull();
    }
  });
});

describe('CSP', () => {
  it('allows no inline script, no eval and nothing remote', () => {
    for (const csp of [CSP_META, CSP_HEADER]) {
      expect(csp).toContain("default-src 'none'");
      expect(csp).toContain("script-src 'self'");
      expect(csp).toContain("connect-src 'none'");
      expect(csp).not.toMatch(/unsafe-inline|unsafe-eval|https?:|\*/);
    }
    expect(CSP_HEADER).toContain("frame-ancestors 'none'");
  });
});

describe('permissions', () => {
  const isTrusted = trustedSender({ origins: ['app://keyladder'] });
  it('denies everything but clipboard writes from the app itself', () => {
    for (const p of ['media', 'geolocation', 'notifications', 'openExternal', 'hid', 'serial', 'usb', 'clipboard-read', 'display-capture']) {
      expect(isPermissionAllowed(p, 'app://keyladder/index.html', isTrusted), p).toBe(false);
    }
    expect(isPermissionAllowed('clipboard-sanitized-write', 'app://keyladder/index.html', isTrusted)).toBe(true);
    expect(isPermissionAllowed('clipboard-sanitized-write', 'https://evil.example/', isTrusted)).toBe(false);
  });
});

describe('IdleLock', () => {
  function fakeTimers() {
    let now = 0;
    const pending = new Map<number, { at: number; fn: () => void }>();
    let id = 0;
    const timers: Timers = {
      setTimeout: (fn, ms) => (pending.set(++id, { at: now + ms, fn }), id),
      clearTimeout: (h) => void pending.delete(h as number),
    };
    const advance = (ms: number) => {
      now += ms;
      for (const [key, t] of [...pending]) if (t.at <= now) (pending.delete(key), t.fn());
    };
    return { timers, advance };
  }

  it('locks after the idle time, and activity postpones it', () => {
    const { timers, advance } = fakeTimers();
    const onIdle = vi.fn();
    const idle = new IdleLock(5, onIdle, timers);
    idle.touch();
    advance(4 * 60_000);
    idle.touch();
    advance(4 * 60_000);
    expect(onIdle).not.toHaveBeenCalled();
    advance(60_000);
    expect(onIdle).toHaveBeenCalledOnce();
    advance(60 * 60_000);
    expect(onIdle).toHaveBeenCalledOnce();
  });

  it('takes a new idle time at once, and refuses nonsense', () => {
    const { timers, advance } = fakeTimers();
    const onIdle = vi.fn();
    const idle = new IdleLock(30, onIdle, timers);
    idle.touch();
    idle.setMinutes(1);
    advance(60_000);
    expect(onIdle).toHaveBeenCalledOnce();
    expect(() => idle.setMinutes(0)).toThrow(RangeError);
    expect(() => new IdleLock(1.5, onIdle, timers)).toThrow(RangeError);
    idle.touch();
    idle.stop();
    advance(10 * 60_000);
    expect(onIdle).toHaveBeenCalledOnce();
  });
});
