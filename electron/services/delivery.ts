// Where an export's text goes, so that the export is audited "ok" only once
// its file is in place: a write that fails leaves no record of a file that
// does not exist, and a record that cannot be written takes the file back,
// putting back the file it replaced (db/files.ts keepPrevious), if any.

import { writeNewFileUndoably, type ChunkProducer, type PreviousFile } from '../../db/files.js';

export type { ChunkProducer };

export interface Delivery {
  /** Puts the text in place (synchronously, so that it fits inside a store transaction), or throws. */
  write(text: string): void;
  /** Puts content in place as it is made (a file written piece by piece), where the delivery can; else the caller writes it whole. */
  writeChunks?(produce: ChunkProducer): void;
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

/** deliverThenRecord for content written as it is made, through the delivery's writeChunks. */
export function deliverChunksThenRecord<T>(produce: ChunkProducer, delivery: Delivery & { writeChunks: NonNullable<Delivery['writeChunks']> }, record: () => T): T {
  delivery.writeChunks(produce);
  let recorded: T;
  try {
    recorded = record();
  } catch (e) {
    delivery.undo();
    throw e;
  }
  delivery.done();
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
    writeChunks: (produce) => {
      previous = writeNewFileUndoably(path, (write) => {
        produce(write);
        if (ending) write(Buffer.from(ending, 'utf8'));
      }, force);
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
