import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// Two runs of the suite. "node" is plain Node with its OpenSSL. "electron-crypto"
// runs the main process's code under a model of the crypto it ships on
// (Electron's Node links BoringSSL: no AES key wrap ciphers, no Web Crypto
// AES-KW, scrypt's parameter check is a whole derivation), so CI fails the day
// a primitive that BoringSSL lacks creeps back. The model is loaded with
// `--import`, before any module, so worker threads and `serve`'s workers get
// it too, and as a setup file (test/support/electronCryptoModel.mjs says why).
const MODEL = fileURLToPath(new URL('./test/support/electronCryptoModel.mjs', import.meta.url));
// Every test file's tempDir() folders are removed when the file ends.
const REMOVE_TEMP_DIRS = 'test/support/removeTempDirs.ts';
// The responder's answers that the server, CLI and MSL tests fetch are checked against docs/openapi.json.
const OPENAPI_HOOK = 'test/support/openapiHook.ts';

export default defineConfig({
  test: {
    globalSetup: ['test/globalSetup.ts'],
    environment: 'node',
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    projects: [
      { extends: true, test: { name: 'node', include: ['test/**/*.test.ts'], setupFiles: [REMOVE_TEMP_DIRS, OPENAPI_HOOK] } },
      {
        extends: true,
        test: {
          name: 'electron-crypto',
          // The main process's code: protocol, store, services, IPC handlers,
          // CLI, HTTP responder, fuzzing, and the renderer end to end against
          // the real services. Not the packaging checks, which test files.
          include: ['test/**/*.test.ts'],
          exclude: ['test/packaging/**', 'test/e2e/electron.e2e.test.ts'],
          setupFiles: [MODEL, REMOVE_TEMP_DIRS, OPENAPI_HOOK],
          execArgv: ['--import', MODEL],
        },
      },
    ],
  },
});
