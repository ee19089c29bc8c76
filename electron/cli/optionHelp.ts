// What an option means to one command, where the shared text (options.ts) would
// describe another command's use of it (issue 22, item 7: `help device add`
// described --group as "…; for jose decrypt, open with the group's Kdw").
// Kept apart from the command modules so that help text has one place;
// commandHelp() (help.ts) prefers these lines, and the shared text says only
// what is true for every command that takes the option.

import { DEFAULT_GRACE_DAYS } from '../services/issuerKeys.js';
import type { OptionName } from './options.js';

const EXPORT_TO = 'the keyring recipient KID to encrypt to (signed first: a nested JWT; `recipient list` shows them)';

export const COMMAND_OPTION_HELP: Readonly<Record<string, Partial<Record<OptionName, string>>>> = {
  'device add': { group: 'the device\'s model group, for MGK (`group list` shows them)' },
  'device import': { format: 'csv or json (default: json for a .json file, else csv)' },
  'group export': { to: EXPORT_TO },
  'issuer export': { to: EXPORT_TO },
  'revocation export': { to: EXPORT_TO },
  'jose encrypt': { to: 'the keyring recipient KID to encrypt to (`recipient list` shows them)' },
  'jose decrypt': { group: 'open with this model group\'s Kdw' },
  'audit export': { to: 'the last entry (default: the newest)' },
  // The actions are in the details, which help prints before the options.
  'audit list': { action: 'only entries of action A (one of the actions listed above)' },
  'issuer rotate': {
    format: 'the new generation\'s wrapdata format: keyladder-v1 (the default) or msl',
    'grace-days': `days the generation before keeps answering returning wrapdata (default ${DEFAULT_GRACE_DAYS}; 0 retires it at once)`,
  },
  'msl identity show': { all: 'every generation: retiring, retired and destroyed ones too' },
  'device list': { all: 'every device, in one unlock (JSON lines with --json)' },
  'device export': { to: EXPORT_TO, all: 'every device (revoked ones apart)' },
  'device revoke': { all: 'every device (with --yes)' },
  'device delete': { all: 'every device (with --yes)' },
  'issuer import-msl': { 'grace-days': `days the generation before keeps answering returning wrapdata (default ${DEFAULT_GRACE_DAYS}; 0 retires it at once)` },
};
