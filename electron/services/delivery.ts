// Where an export's text goes, so that the export is audited "ok" only once
// its file is in place: a write that fails leaves no record of a file that
// does not exist, and a record that cannot be written takes the file back,
// putting back the file it replaced (db/files.ts keepPrevious), if any.

import { writeNewFileUndoably, type PreviousFile } from '../../db/files.js';

export interface Delivery {
  /** Puts the text in place (synchronously, so that it fits inside a store transaction), or throws. */
  write(text: string): void;
  /** Takes back what write put in place, because the export's audit record failed: what was there before comes back. */
  undo(): void;
  /** The export's record stands, so what write put in place stays: whatever was kept for undo is dropped. */
  done(): void;
}

/** Delivers `text` (when there is a delivery), then writes the export's audit record through `record`. */
export function deliverThenRecord<T>(text: string, delivery: Delivery | undefined, record: () => T): T {
  delivery?.write(text);
  let recorded: T;
  try {
    recorded = record();
  } catch (e) {
    delivery?.undo();
    throw e;
  }
  delivery?.done();
  return recorded;
}

/**
 * A Delivery to a new owner-only file at `path` (`text` and then `ending`):
 * with `force` it may replace a file, which undo puts back.
 */
export function fileDelivery(path: string, force: boolean, ending = ''): Delivery {
  let previous: PreviousFile | undefined;
  return {
    write: (text) => {
      previous = writeNewFileUndoably(path, `${text}${ending}`, force);
    },
    undo: () => {
      previous?.putBack();
      previous = undefined;
    },
    done: () => {
      previous?.forget();
      previous = undefined;
    },
  };
}
