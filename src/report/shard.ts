/**
 * Test sharding (`kiln test --shard K/N`): the project's tests × arches split into N parts, the same
 * on every machine given the same tests and the same durations. With durations from the last run
 * (`last-test.json`) the parts are balanced greedily, longest first, each test going to the part
 * with the least time so far (ties: the lower part); without, tests are dealt out in name order.
 * A test without a recorded duration counts as the median of those recorded.
 */
import { KilnError } from '../errors.js';

export interface Shard {
  /** 1-based. */
  readonly index: number;
  readonly count: number;
}

/** One test of the matrix: its id (`name [arch]`) and how long it took last time, when known. */
export interface ShardItem {
  readonly id: string;
  readonly durationMs?: number | undefined;
}

/**
 * `K/N` → the shard; anything else is a usage error.
 * @example parseShard('2/3') // { index: 2, count: 3 }
 */
export function parseShard(text: string): Shard {
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  const index = m ? Number(m[1]) : NaN;
  const count = m ? Number(m[2]) : NaN;
  if (!m || count < 1 || index < 1 || index > count) {
    throw new KilnError(
      'CLI_BAD_SHARD',
      `--shard: expected K/N with 1 <= K <= N (e.g. 1/2), got ${JSON.stringify(text)}`,
      {
        hint: 'run --shard 1/N, 2/N, ... N/N on N machines: together they run every test once',
        exitCode: 2,
      },
    );
  }
  return { index, count };
}

function median(values: number[]): number {
  if (values.length === 0) return 1;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * Splits `items` into `count` parts (each a list of ids in input order); every id lands in exactly one.
 * @example assignShards([{ id: 'a', durationMs: 9 }, { id: 'b', durationMs: 5 }, { id: 'c', durationMs: 4 }], 2)
 * // [['a'], ['b', 'c']]
 */
export function assignShards(items: readonly ShardItem[], count: number): string[][] {
  const known = items.map((i) => i.durationMs).filter((d): d is number => d !== undefined && d >= 0);
  const fill = median(known);
  const weighted = items.map((item) => ({
    id: item.id,
    weight: item.durationMs !== undefined && item.durationMs >= 0 ? item.durationMs : fill,
  }));
  // Longest first; equal weights by id, so the order never depends on how the items were listed.
  weighted.sort((a, b) => b.weight - a.weight || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const totals = new Array<number>(count).fill(0);
  const parts: Array<Set<string>> = Array.from({ length: count }, () => new Set());
  for (const { id, weight } of weighted) {
    let best = 0;
    for (let p = 1; p < count; p++) if (totals[p]! < totals[best]!) best = p;
    totals[best]! += weight;
    parts[best]!.add(id);
  }
  return parts.map((part) => items.map((i) => i.id).filter((id) => part.has(id)));
}
