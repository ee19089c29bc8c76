// Preloaded (NODE_OPTIONS=--require) into the npx run of Electronegativity by
// build/scan-electron.mjs. At start the scanner downloads translations for $LANG
// with got 11; where GitHub is unreachable, got's retry path throws from a timer
// after the request failed ("The `onCancel` handler was attached after the
// promise settled", sindresorhus/got#1489) and kills the scan on Node 24. Its got
// is replaced by one that fails at once: the scanner then uses its bundled en-US
// strings, as it does whenever the download fails. Only the scanner's own
// require('got') is touched; npm, which runs with the same NODE_OPTIONS, is not.
'use strict';
const Module = require('node:module');
const path = require('node:path');

const SCANNER = `${path.sep}@doyensec${path.sep}electronegativity${path.sep}`;
const offlineGot = Object.assign(() => Promise.reject(new Error('offline: no translations download')), { __esModule: true });
offlineGot.default = offlineGot;

const originalRequire = Module.prototype.require;
Module.prototype.require = function require(request) {
  if (request === 'got' && typeof this.filename === 'string' && this.filename.includes(SCANNER)) return offlineGot;
  return originalRequire.apply(this, arguments);
};
