// One example per command, for its help (issue 22, item 7): what an operator
// would type, after the usage line says what may be typed. A test walks the
// command table and parses each example as the CLI would, so an example cannot
// name an option its command does not take, or leave out a required one.
// The words after `keyladder`; a comment after "  # " says what it does.

export const EXAMPLES: Readonly<Record<string, string>> = {
  init: 'init --new-passphrase-file ~/.keyladder-pass',
  status: 'status --json',
  verify: 'verify --checkpoint head.checkpoint',
  backup: 'backup /backups/keyladder-2026-12-07.db',
  restore: 'restore /backups/keyladder-2026-12-07.db --reason "disk replaced"',
  'passphrase change': 'passphrase change --new-passphrase-file new-pass.txt',
  rekey: 'rekey --reason "yearly key change"',
  'recovery-key': 'recovery-key --yes > /media/offline/store-key.txt',
  'device add': 'device add ESN-0001 --keys esn-0001.json  # {"kpe","kph"} in hex',
  'device import': 'device import devices.csv',
  'device list': 'device list --prefix ESN-00 --limit 50',
  'device show': 'device show ESN-0001',
  'device revoke': 'device revoke --ids-from stolen.txt --yes --reason "stolen shipment"',
  'device delete': 'device delete --prefix TEST- --yes --reason "test batch"',
  'device clear-clone': 'device clear-clone ESN-0001',
  'device export': 'device export --group tv-2026 --out factory.jwe --to U9a3kF0q-recipient-kid',
  'group add': 'group add tv-2026',
  'group list': 'group list',
  'group export': 'group export tv-2026 --out tv-2026.jwe --recipient factory-public.jwk',
  'issuer list': 'issuer list',
  'issuer rotate': 'issuer rotate --grace-days 14',
  'issuer retire': 'issuer retire 1 --reason "rotated in November"',
  'issuer destroy': 'issuer destroy 1 --yes',
  'issuer import-msl': 'issuer import-msl --keys msl-issuer.json',
  'issuer export': 'issuer export 2 --out kissuer-2.jwe --to U9a3kF0q-peer-kid',
  'issuer import': 'issuer import kissuer-2.jwe --private-key my-private.jwk',
  'revocation export': 'revocation export --out revoked.jwe --to U9a3kF0q-peer-kid',
  'revocation import': 'revocation import revoked.jwe --private-key my-private.jwk',
  'revocation peers': 'revocation peers',
  'recipient add': 'recipient add factory-public.jwk --label "Factory, line 3"',
  'recipient list': 'recipient list',
  'recipient show': 'recipient show U9a3kF0q-recipient-kid',
  'recipient remove': 'recipient remove U9a3kF0q-recipient-kid --yes',
  'recipient jwks': 'recipient jwks > keyring.jwks',
  'identity jwks': 'identity jwks > keyladder.jwks',
  'identity list': 'identity list',
  'identity rotate': 'identity rotate sig',
  'msl identity show': 'msl identity show --pem',
  'msl identity create': 'msl identity create --name my-msl-server',
  'msl identity rotate': 'msl identity rotate',
  'msl identity import': 'msl identity import --key server-rsa.pem --kid my-msl-server-key',
  'msl identity retire': 'msl identity retire 1',
  'msl identity destroy': 'msl identity destroy 1 --yes',
  'msl keys show': 'msl keys show',
  'msl keys rotate': 'msl keys rotate --grace-seconds 3600',
  'msl keys import-msl': 'msl keys import-msl --keys msl-token-keys.json',
  'msl keys retire': 'msl keys retire 1',
  'msl keys destroy': 'msl keys destroy 1 --yes',
  'msl settings': 'msl settings --renewal-window 3600 --expiration 86400',
  'msl inspect': 'msl inspect capture.bin',
  'msl simulate': 'msl simulate ESN-0001 --url http://127.0.0.1:8420/msl',
  respond: 'respond < request.json > response.json',
  simulate: 'simulate ESN-0001 --rungs 3',
  'policy clone': 'policy clone refuse',
  'policy migration': 'policy migration 2027-01-31',
  serve: 'serve --port 8420 --passphrase-file ~/.keyladder-pass --workers 4',
  'jose inspect': 'jose inspect answer.jwe',
  'jose decrypt': 'jose decrypt wrapkey.jwe --device ESN-0001',
  'jose verify': 'jose verify audit.jws --key-file keyladder-sig.jwk',
  'jose encrypt': 'jose encrypt note.txt --to U9a3kF0q-recipient-kid --out note.jwe',
  'audit list': 'audit list --action device.revoke --limit 20',
  'audit verify': 'audit verify',
  'audit archive': 'audit archive --before 2026-06-01 --out audit-2026-h1.json',
  'audit policy': 'audit policy --exchanges summary',
  'audit checkpoint': 'audit checkpoint --out head.checkpoint',
  'audit export': 'audit export --out audit.jws',
  completion: 'completion bash > ~/.local/share/bash-completion/completions/keyladder',
  man: 'man > keyladder.1  # then: man -l keyladder.1',
};

/**
 * The example as shell words, for the test that parses it: the words before a
 * redirection or a comment, quotes taken off ("stolen shipment" is one word).
 */
export function exampleWords(example: string): string[] {
  const line = example.replace(/\s+#.*$/, '').replace(/\s+[<>].*$/, '');
  return [...line.matchAll(/"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2]!);
}
