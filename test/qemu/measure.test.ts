// measure(): an expectation that reads a number from serial and checks it against limits.
import { describe, expect, it } from 'vitest';
import { PatternTracker, describePattern, measure, readMeasurement } from '../../src/qemu/serial.js';

describe('measure', () => {
  it('reads the first group (or the group named value) and checks min/max', () => {
    const ipc = measure(/ipc: (\d+) cycles/, { max: 500, name: 'ipc' });
    expect(readMeasurement(ipc, 'perf: ipc: 312 cycles')).toMatchObject({
      name: 'ipc',
      value: 312,
      max: 500,
      ok: true,
    });
    expect(readMeasurement(ipc, 'perf: ipc: 812 cycles')).toMatchObject({ value: 812, ok: false });
    const named = measure(/took (?<unit>ms)? ?(?<value>\d+\.\d+)/, { min: 1 });
    expect(readMeasurement(named, 'took 0.5')).toMatchObject({ value: 0.5, ok: false });
    expect(describePattern(ipc)).toBe('/ipc: (\\d+) cycles/ (max 500)');
  });

  it('in a tracker: matched in order, values recorded, a line without a number is not a match', () => {
    const t = new PatternTracker(['boot', measure(/ipc: (\d+|n\/a) cycles/, { min: 1, max: 500 }), 'done'], []);
    for (const line of ['boot', 'ipc: n/a cycles', 'ipc: 900 cycles', 'done']) t.feed(line);
    expect(t.done).toBe(true);
    expect(t.measurements.map((m) => [m.value, m.ok, m.line])).toEqual([[900, false, 'ipc: 900 cycles']]);
  });
});
