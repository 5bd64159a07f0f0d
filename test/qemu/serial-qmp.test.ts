// Serial cleaning and matching, exit-code decoding, the accelerator choice, and the QMP client
// against a real QEMU (started paused, as the harness starts it).
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  PatternTracker,
  QmpClient,
  SerialLines,
  buildQemuCommand,
  chooseAccel,
  decodeGuestExit,
  parsePattern,
  resolveMachine,
  startQemu,
  stripAnsi,
} from '../../src/qemu/index.js';
import { tempDir } from '../_helpers.js';
import { buildX86Kernel, processGone } from './_kernels.js';

const dir = tempDir('kiln-qemu-serial-');

describe('serial', () => {
  it('strips what OVMF writes (CSI colours, cursor moves, mode switches) and CRs', () => {
    expect(stripAnsi('\x1b[2J\x1b[01;01H\x1b[=3h\x1b[0m\x1b[37m\x1b[40mBdsDxe: loading Boot0001\r')).toBe(
      'BdsDxe: loading Boot0001',
    );
    expect(stripAnsi('\x1b]0;title\x07ok \x1b(Bdone\x1bc')).toBe('ok done');
  });

  it('property: stripping never leaves an ESC and keeps plain text as it is', () => {
    fc.assert(
      fc.property(fc.string(), (s) => {
        const plain = s.replace(/[\x00-\x1f\x7f\x9b]/g, '');
        expect(stripAnsi(plain)).toBe(plain);
        expect(stripAnsi(`\x1b[1;31m${s}\x1b[0m`)).not.toMatch(/\x1b\[[0-9;]*m/);
      }),
    );
  });

  it('SerialLines joins lines split across chunks (and UTF-8 split mid-character), keeps the last 30', () => {
    const lines = new SerialLines(30);
    const bytes = new TextEncoder().encode(
      `${Array.from({ length: 40 }, (_, i) => `line ${i} ✓`).join('\r\n')}\r\nprompt> `,
    );
    const got: string[] = [];
    for (let i = 0; i < bytes.length; i += 7) got.push(...lines.push(bytes.subarray(i, i + 7)));
    expect(got.length).toBe(40);
    expect(got[39]).toBe('line 39 ✓');
    expect(lines.lastLines()).toHaveLength(30);
    expect(lines.lastLines().at(-1)).toBe('prompt> ');
    expect(lines.end()).toEqual(['prompt> ']);
  });

  it('PatternTracker: expectations in order (several on one line), fail patterns at once', () => {
    const t = new PatternTracker(['boot', /ok (\d+)/, 'end'], [/\bpanic\b/i]);
    t.feed('end comes first here');
    expect(t.next).toBe(0);
    t.feed('boot ok 1 ... end');
    expect(t.done).toBe(true);
    expect(t.failed).toBeUndefined();
    const p = new PatternTracker(['boot', 'login: '], []);
    p.feed('boot');
    expect(p.wouldComplete('login: ')).toBe(true);
    expect(p.wouldComplete('logi')).toBe(false);
    expect(p.next).toBe(1); // nothing recorded
    t.feed('Kernel PANIC here');
    expect(t.failed?.line).toBe('Kernel PANIC here');
    expect(parsePattern('/ok \\d+/i')).toEqual(/ok \d+/i);
    expect(parsePattern('plain/text')).toBe('plain/text');
  });

  it("decodeGuestExit: (v << 1) | 1, QEMU's own error, a clean 0 that is not a guest exit", () => {
    const ide = { kind: 'isa-debug-exit' as const, iobase: 0xf4, iosize: 4, successCode: 0 };
    expect(decodeGuestExit(ide, 7, '')).toEqual({ code: 3 });
    expect(decodeGuestExit(ide, 1, '')).toEqual({ code: 0 });
    expect(decodeGuestExit(ide, 1, 'qemu-system-x86_64: -device foo: Device not found\n')).toMatchObject({
      crashed: true,
    });
    expect(decodeGuestExit(ide, 1, "qemu-system-x86_64: warning: host doesn't support requested feature\n")).toEqual({
      code: 0,
    });
    expect(decodeGuestExit(ide, 0, '').problem).toMatch(/never wrote isa-debug-exit/);
    expect(decodeGuestExit({ kind: 'semihosting', successCode: 0 }, 3, '')).toEqual({ code: 3 });
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 127 }), (v) => {
        expect(decodeGuestExit(ide, (v << 1) | 1, '')).toEqual({ code: v });
      }),
    );
  });
});

describe('accelerator', () => {
  it('says its choice in one line; KILN_ACCEL and an explicit choice win', async () => {
    const auto = await chooseAccel('x86_64', 'qemu-system-x86_64');
    expect(['kvm', 'tcg']).toContain(auto.accel);
    expect(auto.note).toMatch(/^accel: (kvm|tcg) \(.+\)/);
    expect(auto.note).not.toContain('\n');
    expect(await chooseAccel('aarch64', 'qemu-system-aarch64')).toMatchObject({
      accel: 'tcg',
      note: expect.stringMatching(/aarch64 guest on a x64 host/),
    });
    expect(await chooseAccel('x86_64', 'qemu-system-x86_64', 'tcg')).toEqual({
      accel: 'tcg',
      note: 'accel: tcg (asked for)',
    });
    process.env.KILN_ACCEL = 'tcg';
    try {
      expect(await chooseAccel('x86_64', 'qemu-system-x86_64')).toEqual({
        accel: 'tcg',
        note: 'accel: tcg (KILN_ACCEL)',
      });
    } finally {
      delete process.env.KILN_ACCEL;
    }
  }, 60_000);
});

describe('QmpClient against a real QEMU', () => {
  it('capabilities, query-status (paused by -S), info registers, cont, events, quit', async () => {
    const machine = await resolveMachine(
      { kernel: buildX86Kernel(join(dir, 'k'), 'hang'), accel: 'tcg', logDir: join(dir, 'qmp') },
      { testMode: true },
    );
    expect(buildQemuCommand(machine)).toContain('-S');
    const q = startQemu(machine);
    const qmp = await QmpClient.connect(machine.qmpSocket!, { timeoutMs: 30_000 });
    expect(qmp.greeting).toHaveProperty('version');
    expect(await qmp.queryStatus()).toMatchObject({ running: false, status: 'prelaunch' });
    expect(await qmp.humanMonitorCommand('info registers')).toMatch(/EIP=0000fff0/); // the reset vector
    await qmp.execute('cont');
    expect((await qmp.queryStatus()).running).toBe(true);
    await expect(qmp.execute('no-such-command')).rejects.toThrow(/CommandNotFound/);
    await qmp.quit();
    const exit = await q.exited;
    expect(exit.signal).toBeNull();
    expect(qmp.events.map((e) => e.event)).toContain('SHUTDOWN');
    expect(qmp.events.find((e) => e.event === 'SHUTDOWN')?.data).toMatchObject({ reason: 'host-qmp-quit' });
    expect(processGone(q.pid)).toBe(true);
  }, 60_000);
});
