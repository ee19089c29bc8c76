// Where an export's text goes, so that the export is audited "ok" only once
// its file is in place: a write that fails leaves no record of a file that
// does not exist, and a record that cannot be written takes the file back.

export interface Delivery {
  /** Puts the text in place (synchronously, so that it fits inside a store transaction), or throws. */
  write(text: string): void;
  /** Takes back what write put in place, because the export's audit record failed. */
  undo(): void;
}

/** Delivers `text` (when there is a delivery), then writes the export's audit record through `record`. */
export function deliverThenRecord<T>(text: string, delivery: Delivery | undefined, record: () => T): T {
  delivery?.write(text);
  try {
    return record();
  } catch (e) {
    delivery?.undo();
    throw e;
  }
}
