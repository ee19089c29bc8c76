// Validation of what operators hand in: identities, group names and keys as hex.
// Keys are parsed into Buffers that the caller zeroes; a bad key is reported by
// name and expected length, never by echoing it.

import { parseIdentity } from '../ladder/messages.js';
import { ServiceError, ServiceErrorCode } from './errors.js';

const HEX = /^[0-9a-fA-F]*$/;

export function keyFromHex(value: unknown, name: string, length: number): Buffer {
  if (typeof value !== 'string' || !HEX.test(value) || value.length !== length * 2) {
    // Characters other than 0-9a-f are said as such (issue 22, item 8): "must be 32 hex digits" alone read as a length problem.
    const notHex = typeof value === 'string' && !HEX.test(value) ? 'is not hex: it ' : '';
    throw new ServiceError(ServiceErrorCode.INVALID_KEY, `${name} ${notHex}must be ${length * 2} hex digits (${length} bytes).`);
  }
  return Buffer.from(value, 'hex');
}

export function checkIdentity(identity: unknown): string {
  try {
    return parseIdentity(identity);
  } catch {
    throw new ServiceError(ServiceErrorCode.INVALID_IDENTITY, 'An identity is 1 to 256 printable ASCII characters, without spaces.');
  }
}

const GROUP_NAME = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

export function checkGroupName(name: unknown): string {
  if (typeof name !== 'string' || !GROUP_NAME.test(name)) {
    throw new ServiceError(ServiceErrorCode.INVALID_ARGUMENT, 'A model group name is 1 to 128 letters, digits, ".", "_", ":" or "-", starting with a letter or digit.');
  }
  return name;
}

export function checkInteger(value: unknown, name: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new ServiceError(ServiceErrorCode.INVALID_ARGUMENT, `${name} must be a whole number from ${min} to ${max}.`);
  }
  return value;
}
