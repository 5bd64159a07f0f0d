// QEMU dies with kiln (issue 15, item 5): `kiln run` and `kiln test` boot a real QEMU (a disk with
// nothing bootable: SeaBIOS waits forever), the test finds QEMU's pid in /proc, kills kiln with
// SIGINT, SIGTERM, SIGHUP (the terminal closed) or SIGKILL (no handler runs: the parent-death
// signal set through setpriv does the work), and checks /proc: QEMU is gone within a second.
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { kilnBin, tempDir } from '../_helpers.js';

const dir = tempDir('kiln-qemu-death-');

/** [ppid, comm, state] of a process, or undefined when it is gone. */
function stat(pid: number): { ppid: number; comm: string; state: string } | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const close = text.lastIndexOf(')');
    const rest = text.slice(close + 2).split(' ');
    return { comm: text.slice(text.indexOf('(') + 1, close), state: rest[0]!, ppid: Number(rest[1]) };
  } catch {
    return undefined;
  }
}

/** A QEMU process alive (not a zombie) with this pid. */
function qemuAlive(pid: number): boolean {
  const s = stat(pid);
  return s !== undefined && s.state !== 'Z' && s.comm.startsWith('qemu-system');
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits (up to `ms`) for a QEMU whose parent is `parent`; returns its pid. */
async function findQemu(parent: number, ms: number): Promise<number | undefined> {
  for (const until = Date.now() + ms; Date.now() < until; await sleep(100)) {
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      const s = stat(Number(entry));
      if (s?.ppid === parent && s.comm.startsWith('qemu-system') && s.state !== 'Z') return Number(entry);
    }
  }
  return undefined;
}

/** Polls for QEMU's end for at most `ms`; true when it is gone. */
async function goneWithin(pid: number, ms: number): Promise<boolean> {
  for (const until = Date.now() + ms; Date.now() < until; await sleep(20)) if (!qemuAlive(pid)) return true;
  return !qemuAlive(pid);
}

const commands = {
  run: (image: string) => ['run', '--image', image, '--no-serial', '--accel', 'tcg', '--log-dir', `${image}.logs`],
  test: (image: string) => [
    'test',
    '--image',
    image,
    '--expect',
    'never printed',
    '--timeout',
    '600',
    '--accel',
    'tcg',
    '--log-dir',
    `${image}.logs`,
  ],
};

describe('QEMU never outlives kiln', () => {
  for (const [name, args] of Object.entries(commands)) {
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGKILL'] as const) {
      it(`kiln ${name}, ${signal}: no QEMU a second later`, async () => {
        const image = join(dir, `${name}-${signal}.img`);
        writeFileSync(image, new Uint8Array(1 << 20));
        const kiln = spawn(process.execPath, [kilnBin, ...args(image)], {
          cwd: dir,
          env: { ...process.env, CI: 'true', NO_COLOR: '1' },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let stderr = '';
        kiln.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
        const exited = new Promise<void>((r) => kiln.on('close', () => r()));
        let qemu: number | undefined;
        try {
          qemu = await findQemu(kiln.pid!, 60_000);
          expect(qemu, `no QEMU started under kiln: ${stderr}`).toBeDefined();
          expect(qemuAlive(qemu!)).toBe(true);
          kiln.kill(signal);
          expect(await goneWithin(qemu!, 1000), `QEMU ${qemu} still runs 1 s after ${signal} to kiln`).toBe(true);
          await exited;
        } finally {
          kiln.kill('SIGKILL');
          if (qemu !== undefined && qemuAlive(qemu)) process.kill(qemu, 'SIGKILL'); // never leave one behind
        }
      }, 120_000);
    }
  }
});
