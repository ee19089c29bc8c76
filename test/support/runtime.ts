// Which crypto runtime this test process models: plain Node (OpenSSL), or
// Electron's main process (BoringSSL), when test/support/electronCryptoModel.mjs
// was loaded (the vitest project "electron-crypto", or `node --import`).
//
// Tests that spawn Node children pass childNodeArgs() first, so a child runs
// under the same model as its parent.

import { fileURLToPath } from 'node:url';

export const ELECTRON_CRYPTO_MODEL = fileURLToPath(new URL('./electronCryptoModel.mjs', import.meta.url));

/** True when this process runs under the model of Electron's crypto. */
export const underElectronCryptoModel = (): boolean => (globalThis as Record<symbol, unknown>)[Symbol.for('keyladder.electronCryptoModel')] === true;

/** Node arguments that put a child process under this process's model. */
export const childNodeArgs = (): string[] => (underElectronCryptoModel() ? ['--import', ELECTRON_CRYPTO_MODEL] : []);

/** A label for test names: which runtime's crypto this run models. */
export const RUNTIME_LABEL = underElectronCryptoModel() ? 'Electron crypto model (BoringSSL)' : `Node ${process.version} (OpenSSL ${process.versions.openssl})`;
