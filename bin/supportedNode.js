// Which Node can run KeyLadder. The SQLite addon (better-sqlite3-multiple-
// ciphers 13, Node-API) needs Node 22 or later: loaded by Node 20 it crashes
// the process with a segmentation fault, which tells an operator nothing. So
// the `keyladder` command checks the version first and says what to install.
// Kept in step with package.json's "engines" (test/cli/supportedNode.test.ts).

/** The lowest Node major that runs KeyLadder. */
export const LOWEST_NODE_MAJOR = 22;

/**
 * Why this Node cannot run KeyLadder, or null when it can.
 * @param {string} version process.versions.node, e.g. "20.20.2"
 * @returns {string | null}
 */
export function unsupportedNode(version) {
  const major = Number.parseInt(String(version).split('.')[0] ?? '', 10);
  if (Number.isInteger(major) && major >= LOWEST_NODE_MAJOR) return null;
  return `[RUNTIME_UNSUPPORTED] KeyLadder needs Node ${LOWEST_NODE_MAJOR} or later; this is Node ${version}. ` +
    'Install a supported Node (https://nodejs.org, or the `node` package on the npm registry) and run it again.';
}
