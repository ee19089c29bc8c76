// Which devices a batch command means: IDs as arguments, or --group NAME,
// --prefix P, --all or --ids-from FILE|- (one identity a line). The CLI only
// reads the options into a DeviceSelector; the services resolve it
// (DeviceService.select), as they do for the app's export screen.

import type { DeviceSelector } from '../services/types.js';
import { parseIdentityLines } from '../services/identityList.js';
import type { Context } from './command.js';
import { CliError, CliErrorCode } from './errors.js';
import { readTextFile } from './inputs.js';
import type { OptionName } from './options.js';

/** The options that name devices, for a command's option list. */
export const SELECTOR_OPTIONS: readonly OptionName[] = ['group', 'prefix', 'all', 'ids-from'];

const FORMS = 'device IDs, --group NAME, --prefix P, --all or --ids-from FILE';

/** The selection the command line names: exactly one form of it, else a usage error. */
export function deviceSelection(ctx: Context): DeviceSelector {
  const forms: DeviceSelector[] = [];
  if (ctx.args.length > 0) forms.push({ kind: 'identities', identities: [...ctx.args] });
  if (ctx.values.group !== undefined) forms.push({ kind: 'group', group: ctx.values.group });
  if (ctx.values.prefix !== undefined) forms.push({ kind: 'prefix', prefix: ctx.values.prefix });
  if (ctx.values.all === true) forms.push({ kind: 'all' });
  const idsFrom = ctx.values['ids-from'];
  if (idsFrom !== undefined) forms.push({ kind: 'identities', identities: parseIdentityLines(readTextFile(idsFrom, 'identity list', ctx.io)) });
  if (forms.length === 0) throw new CliError(CliErrorCode.USAGE_MISSING_ARGUMENT, `Name the devices: ${FORMS}.`);
  if (forms.length > 1) throw new CliError(CliErrorCode.USAGE_BAD_VALUE, `Name the devices one way only: ${FORMS}.`);
  return forms[0]!;
}

/** Whether the selection is one device named as an argument (no batch: no count to confirm). */
export const isSingleDevice = (selector: DeviceSelector): boolean => selector.kind === 'identities' && selector.identities.length === 1;
