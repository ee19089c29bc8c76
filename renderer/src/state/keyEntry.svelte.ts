// Typed key input for one device (Kpe/Kph/Kpw) or one model group
// (Kde/Kdh/Kdw): generate, or the encryption+HMAC pair, or the wrapping key
// alone. `take()` hands the keys over and clears them from the form at once.

export interface KeyNames {
  readonly enc: string;
  readonly hmac: string;
  readonly wrap: string;
}

export type KeyChoice =
  | { readonly kind: 'generate' }
  | { readonly kind: 'pair'; readonly enc: string; readonly hmac: string }
  | { readonly kind: 'wrap'; readonly wrap: string };

const HEX = (digits: number) => new RegExp(`^[0-9a-fA-F]{${digits}}$`);

export class KeyEntry {
  mode = $state<KeyChoice['kind']>('generate');
  enc = $state('');
  hmac = $state('');
  wrap = $state('');

  readonly problem = $derived.by(() => {
    const { enc, hmac, wrap } = this.names;
    if (this.mode === 'pair' && !HEX(32).test(this.enc.trim())) return `${enc} must be 32 hex digits (16 bytes).`;
    if (this.mode === 'pair' && !HEX(64).test(this.hmac.trim())) return `${hmac} must be 64 hex digits (32 bytes).`;
    if (this.mode === 'wrap' && !HEX(32).test(this.wrap.trim())) return `${wrap} must be 32 hex digits (16 bytes).`;
    return null;
  });

  constructor(readonly names: KeyNames) {}

  /** The keys as entered, trimmed; the fields are empty afterwards. */
  take(): KeyChoice {
    const choice: KeyChoice =
      this.mode === 'pair' ? { kind: 'pair', enc: this.enc.trim(), hmac: this.hmac.trim() }
      : this.mode === 'wrap' ? { kind: 'wrap', wrap: this.wrap.trim() }
      : { kind: 'generate' };
    this.clear();
    return choice;
  }

  clear(): void {
    this.enc = this.hmac = this.wrap = '';
  }
}
