// Parses a Prometheus text-format scrape with parse-prometheus-text-format
// (an independent parser, not prom-client's own writer), into lookups the
// metrics tests assert on.
import { createRequire } from 'node:module';

interface Sample {
  readonly labels?: Readonly<Record<string, string>>;
  readonly value?: string;
  readonly count?: string;
  readonly sum?: string;
  readonly buckets?: Readonly<Record<string, string>>;
}
export interface Family {
  readonly name: string;
  readonly help: string;
  readonly type: 'COUNTER' | 'GAUGE' | 'HISTOGRAM' | 'SUMMARY' | 'UNTYPED';
  readonly metrics: readonly Sample[];
}

// The package is CommonJS without type definitions.
const parse = createRequire(import.meta.url)('parse-prometheus-text-format') as (text: string) => Family[];

export function parsePrometheus(text: string): { families: Family[]; family(name: string): Family; value(name: string, labels?: Record<string, string>): number } {
  const families = parse(text);
  const family = (name: string): Family => {
    const found = families.find((f) => f.name === name);
    if (!found) throw new Error(`no metric ${name} in the scrape`);
    return found;
  };
  /** The sum over the samples whose labels include `labels` (an unlabelled histogram: its count; the parser folds labelled ones into one series); 0 when none has them. */
  const value = (name: string, labels: Record<string, string> = {}): number =>
    family(name).metrics
      .filter((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v))
      .reduce((sum, m) => sum + Number(m.value ?? m.count ?? 0), 0);
  return { families, family, value };
}
