// Output and usage text of the `keyladder` command.

export interface Output {
  readonly json: boolean;
  /** Prints `human` as text, or `machine` as one line of JSON with --json. */
  print(human: string, machine: unknown): void;
}

/** A mistake in how the command was called: exit status 2, and a hint. */
export class CliUsageError extends Error {}

export const helpText = (): string => `keyladder: the JWE_LADDER responder's key store, from the command line.

Usage: keyladder COMMAND [options]

Store
  init [--kdf-log-n N]                 create the store and its first Kissuer generation
  init --join EXPORT [--private-key F] create it from a peer's Kissuer export (a responder network)
  status                               where the store is, and whether it exists
  verify [--checkpoint F]              check every page, the invariants and the audit chain; with
                                       F, also that the store did not go back behind checkpoint F
  backup FILE [--force]                write an encrypted, consistent backup to a new file
  restore FILE --yes                   replace the store with a backup (its passphrase)
  passphrase change [--rekey]          re-wrap the store key under a new passphrase (--rekey:
                                       and give the store a new key, as rekey does)
  rekey                                a new store key: every page, sealed key and audit MAC
                                       under it; old key files and recovery keys open nothing
  recovery-key --yes                   print the raw store key, for SQLCipher 4 tools (audited)

Devices and model groups
  device add ID [--keys FILE] [--group NAME]   generate keys, or import {"kpe","kph"} / {"kpw"}
  device import FILE [--format csv|json]       bulk import; all rows or none (see README)
  device list [--prefix P] [--offset N] [--limit N]
  device show ID
  device revoke ID
  device clear-clone ID                        clear a "possible clone" mark once looked into
  device export ID... --out FILE [--recipient PUBLIC_JWK] [--force]   a JWE bundle for a factory
  group add NAME [--keys FILE]                 generate, or import {"kde","kdh"} / {"kdw"}
  group list

Kissuer
  issuer list
  issuer rotate [--grace-days N] [--format keyladder-v1|msl]
  issuer retire GEN
  issuer destroy GEN --yes
  issuer import-msl --keys FILE [--grace-days N]   {"kissuer": hex}: a Kissuer shared with MSL
  issuer export GEN... --out FILE [--recipient PUBLIC_JWK] [--force]
  issuer import FILE [--private-key PRIVATE_JWK]
  revocation export --out FILE [--recipient PUBLIC_JWK] [--force]
                                       this store's revoked devices (and those it heard), for peers
  revocation import FILE [--private-key PRIVATE_JWK]
                                       revokes the list's devices held here; refuses the rest on WRAP
  revocation peers                     when each peer's list was last received

Exchanges
  respond [--profile msl|rfc7516]      answer one request read on stdin (exit 2 on refusal)
  simulate ID [--mechanism PSK|MGK] [--rungs N] [--profile msl|rfc7516]
  serve [--host H] [--port P] [--profile msl|rfc7516] [--tls-cert F --tls-key F] [--workers N]
                                       the HTTP responder (127.0.0.1:8420); N processes
                                       (default 1, at most 32; one per core helps most)
                                       share the port and the store
        [--allow-host NAME]... [--allow-origin ORIGIN]...
                                       Host names (besides IP literals and loopback names) and
                                       browser origins to answer; others get 421 and 403
        [--token-file F]               every request needs Authorization: Bearer <first line of F>
        [--tls-client-ca F]            mutual TLS: only clients with a certificate F issued
        [--rate-limit N]               requests a second per client address and worker, bursts
                                       of 2N; 429 beyond (default 1000; 0 turns it off)
        [--uniform-refusals]           one answer (403 KEYX_REFUSED) for unknown, revoked and
                                       group-less identities: no identity oracle

  policy clone [flag|refuse]           show or set what wrapdata older than a device's latest
                                       gets: answered and the device marked (flag, the default),
                                       or refused so the device falls back to PSK/MGK (refuse)

Audit
  audit list [--action A] [--subject S] [--outcome ok|refused] [--limit N]
  audit verify
  audit checkpoint --out FILE [--force]   a MACed record of the chain's head, to keep elsewhere

Options
  --store DIR              the store folder (else $KEYLADDER_STORE, else the app's data folder)
  --passphrase-file F      the passphrase (else $KEYLADDER_PASSPHRASE, else a prompt on a TTY)
  --new-passphrase-file F  for init and passphrase change (else $KEYLADDER_NEW_PASSPHRASE)
  --bundle-passphrase-file F   for exports (else $KEYLADDER_BUNDLE_PASSPHRASE, else a prompt)
  --keys FILE              key material as JSON with hex values; "-" reads stdin.
                           Keys are never taken as arguments: other users can read them there.
  --force                  replace an existing output file (never a symbolic link); without it,
                           --out and backup files must not exist yet
  --json                   machine-readable output on every command
`;
