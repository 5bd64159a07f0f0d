// kiln flash against real loop devices (root, as in CI): what is read back from the device equals
// the image (raw, a GRUB hybrid ISO, VDI and VMDK made by qemu-img), the progress lines are sane,
// and every refusal (the disk holding /, a mounted loop device, a partition, a missing device, a
// non-removable disk without --force, no confirmation, a too small disk) leaves the device as it was.
// A write that fails midway (a loop device whose backing file system fills up) says where it stopped.
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveDevice } from '../../src/flash/target.js';
import { flashImage, openFlashImage } from '../../src/flash/write.js';
import { kilnBin, runAsync, runKilnAsync, tempDir, tool } from '../_helpers.js';

const dir = tempDir('kiln-flash-');
/** Undo steps (detach, unmount), run in reverse order in afterAll: a loop device on a mounted file goes first. */
const cleanup: string[][] = [];

/** Attaches a loop device to `file` (partitions scanned with `scan`); detached in afterAll. */
function attach(file: string, scan = false): string {
  const r = tool(['losetup', '--find', '--show', ...(scan ? ['--partscan'] : []), file]);
  if (r.status !== 0) throw new Error(`losetup: ${r.stderr}`);
  const device = r.stdout.trim();
  cleanup.push(['losetup', '--detach', device]);
  if (scan && !existsSync(`${device}p1`)) tool(['partx', '--add', device]); // without udev the nodes may lag
  return device;
}

function run(argv: string[]): void {
  const r = tool(argv);
  if (r.status !== 0) throw new Error(`${argv.join(' ')}: ${r.stderr}`);
}

function mount(device: string, at: string): void {
  mkdirSync(at);
  run(['mount', device, at]);
  cleanup.push(['umount', at]);
}

/** A file of `size` bytes filled with a recognizable pattern (so "unchanged" means something). */
function patterned(name: string, size: number): string {
  const path = join(dir, name);
  const bytes = Buffer.alloc(size);
  for (let i = 0; i < size; i += 4) bytes.writeUInt32LE((0xdeadbeef ^ i) >>> 0, i);
  writeFileSync(path, bytes);
  return path;
}

function readRange(path: string, length: number, offset = 0): Buffer {
  const fd = openSync(path, 'r');
  try {
    const out = Buffer.alloc(length);
    for (let done = 0; done < length;) {
      const got = readSync(fd, out, done, length - done, offset + done);
      if (got === 0) throw new Error(`${path} ended at ${offset + done}`);
      done += got;
    }
    return out;
  } finally {
    closeSync(fd);
  }
}

function canRead(path: string): boolean {
  try {
    closeSync(openSync(path, 'r'));
    return true;
  } catch {
    return false;
  }
}

const sha = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

beforeAll(() => {
  // Tools the test needs: a missing one fails here (CI=true never skips).
  for (const t of ['losetup', 'mkfs.ext2', 'sfdisk', 'qemu-img', 'grub-mkrescue', 'findmnt']) {
    expect(tool(['which', t]).status, `${t} is needed (scripts/setup.mjs installs it)`).toBe(0);
  }
});

afterAll(() => {
  // Even after a failure: every mount and loop device this file made, newest first.
  for (const argv of cleanup.reverse()) tool(argv);
});

interface Progress {
  phase: string;
  bytes: string;
  pct: number;
  rate: number;
}

/** `kiln: write   4 MiB / 19.1 MiB  20%  94.0 MB/s  ETA 0:00` → its fields. */
function progressLines(stderr: string): Progress[] {
  return [
    ...stderr.matchAll(/^kiln: (write|verify)\s+(\S+ \S+) \/ (\S+ \S+)\s+(\d+)%\s+([\d.]+) MB\/s\s+ETA (\S+)$/gm),
  ].map((m) => ({
    phase: m[1]!,
    bytes: m[2]!,
    pct: Number(m[4]),
    rate: Number(m[5]),
  }));
}

function expectSaneProgress(stderr: string, total: string): void {
  const lines = progressLines(stderr);
  for (const phase of ['write', 'verify']) {
    const mine = lines.filter((l) => l.phase === phase);
    expect(mine.length, `${phase} lines in:\n${stderr}`).toBeGreaterThanOrEqual(2);
    expect(mine[0]!.pct).toBe(0);
    expect(mine.at(-1)!.pct).toBe(100);
    expect(mine.at(-1)!.bytes).toBe(total);
    // Percentages only grow, and a line after the first has a real rate.
    for (let i = 1; i < mine.length; i++) {
      expect(mine[i]!.pct).toBeGreaterThan(mine[i - 1]!.pct);
      expect(mine[i]!.rate).toBeGreaterThan(0);
    }
    expect(mine.length).toBeLessThanOrEqual(12); // plain lines: about one per 10 %, not one per write
  }
  // Every write line comes before the first verify line.
  expect(lines.findIndex((l) => l.phase === 'verify')).toBe(lines.filter((l) => l.phase === 'write').length);
}

describe('kiln flash to a loop device', () => {
  it('writes a raw image; the bytes read back equal the image; progress is sane', async () => {
    const image = join(dir, 'raw.img');
    writeFileSync(image, randomBytes(20_000_003)); // not a multiple of the sector size
    const device = attach(patterned('raw.dev', 32 << 20));
    const r = await runKilnAsync(['flash', image, device, '--yes', '--force']);
    expect(r.status, r.stderr).toBe(0);
    const written = readFileSync(image);
    expect(sha(readRange(device, written.length))).toBe(sha(written));
    // What follows the image stays as it was.
    expect(readRange(device, 4096, 20_000_003 + 1).equals(readRange(join(dir, 'raw.dev'), 4096, 20_000_003 + 1))).toBe(
      true,
    );
    expect(r.stderr).toContain(`about to overwrite ${device}`);
    expect(r.stderr).toContain(`read back and compared: sha256 ${sha(written)}`);
    expect(r.stderr).toContain('blockdev --flushbufs');
    expectSaneProgress(r.stderr, '19.1 MiB');
  }, 120_000);

  it('on a terminal it asks first: "no" writes nothing, "yes" writes, the progress line redrawn in place', async () => {
    const image = join(dir, 'tty.img');
    writeFileSync(image, randomBytes(3_000_000));
    const device = attach(patterned('tty.dev', 8 << 20));
    const before = sha(readRange(device, 3_000_000));
    // util-linux script(1) gives kiln a pseudo-terminal; the answer is typed into it.
    const onTty = (answer: string) =>
      runAsync(
        [
          'script',
          '--quiet',
          '--return',
          '--command',
          `${process.execPath} ${kilnBin} flash ${image} ${device} --force`,
          '/dev/null',
        ],
        { input: answer, env: { ...process.env, NO_COLOR: '1' } },
      );
    const no = await onTty('no\n');
    expect(no.status, no.stdout).toBe(1);
    expect(no.stdout).toContain(`Type yes to overwrite ${device}:`);
    expect(no.stdout).toContain('kiln: nothing written');
    expect(sha(readRange(device, 3_000_000))).toBe(before);
    const yes = await onTty('yes\n');
    expect(yes.status, yes.stdout).toBe(0);
    expect(yes.stdout).toMatch(/\r\x1b\[2Kwrite +\d/);
    expect(yes.stdout).not.toMatch(/^kiln: write /m); // not the plain lines
    expect(sha(readRange(device, 3_000_000))).toBe(sha(readFileSync(image)));
  }, 120_000);

  it("without IMAGE it flashes the project's run image", async () => {
    const project = join(dir, 'project');
    mkdirSync(project);
    writeFileSync(join(project, 'disk.img'), randomBytes(1 << 20));
    writeFileSync(
      join(project, 'kiln.config.ts'),
      `import { defineConfig } from 'kiln';
export default defineConfig({ name: 'flashme', build: () => ({ run: { image: 'disk.img' } }) });
`,
    );
    const device = attach(patterned('project.dev', 4 << 20));
    const r = await runKilnAsync(['flash', device, '--yes', '--force'], { cwd: project });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain(`image:  ${join(project, 'disk.img')}`);
    expect(sha(readRange(device, 1 << 20))).toBe(sha(readFileSync(join(project, 'disk.img'))));
  }, 120_000);

  it('writes a GRUB hybrid ISO: the device then has its partition table', async () => {
    const tree = join(dir, 'iso-tree');
    mkdirSync(join(tree, 'boot'), { recursive: true });
    writeFileSync(join(tree, 'boot', 'hello.txt'), 'hello from an ISO\n');
    const iso = join(dir, 'grub.iso');
    run(['grub-mkrescue', '-o', iso, tree]);
    const bytes = readFileSync(iso);
    const device = attach(patterned('iso.dev', bytes.length + (8 << 20)));
    const r = await runKilnAsync(['flash', iso, device, '--yes', '--force']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain('ISO 9660 (hybrid: boots as a disk too)');
    expect(sha(readRange(device, bytes.length))).toBe(sha(bytes));
    const table = JSON.parse(tool(['sfdisk', '--json', device]).stdout) as {
      partitiontable: { partitions: unknown[] };
    };
    expect(table.partitiontable.partitions.length).toBeGreaterThan(0);
  }, 120_000);

  it('writes the raw disk inside a VDI and a VMDK (made by qemu-img), converted while it streams', async () => {
    const raw = join(dir, 'disk.raw');
    const content = Buffer.alloc(12 << 20);
    randomBytes(3 << 20).copy(content, 1 << 20);
    randomBytes(1000).copy(content, 9 << 20);
    writeFileSync(raw, content);
    for (const [format, options] of [
      ['vdi', []],
      ['vmdk', []],
      ['vmdk', ['-o', 'subformat=streamOptimized']],
    ] as const) {
      const image = join(dir, `disk-${options.length ? 'stream' : 'sparse'}.${format}`);
      run(['qemu-img', 'convert', '-f', 'raw', '-O', format, ...options, raw, image]);
      const device = attach(patterned(`${format}-${options.length}.dev`, 16 << 20));
      const r = await runKilnAsync(['flash', image, device, '--yes', '--force']);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stderr).toContain(`read by kiln's ${format.toUpperCase()} reader`);
      expect(sha(readRange(device, content.length)), `${image}`).toBe(sha(content));
    }
  }, 180_000);

  it('a write that fails midway says where it stopped (a loop device on a file system that fills up)', async () => {
    const fs = join(dir, 'small.fs');
    writeFileSync(fs, Buffer.alloc(0));
    run(['truncate', '-s', '6M', fs]);
    run(['mkfs.ext2', '-q', fs]);
    const mnt = join(dir, 'small-mnt');
    mount(attach(fs), mnt);
    run(['truncate', '-s', '32M', join(mnt, 'backing')]);
    const device = attach(join(mnt, 'backing'));
    const image = join(dir, 'big.img');
    writeFileSync(image, randomBytes(20 << 20));
    const r = await runKilnAsync(['flash', image, device, '--yes', '--force']);
    expect(r.status, r.stderr).toBe(1);
    const m = /writing (\S+) failed (?:at byte (\d+)|between byte (\d+) and byte (\d+)) .*: (E[A-Z]+)/.exec(r.stderr);
    expect(m, r.stderr).not.toBeNull();
    expect(m![1]).toBe(device);
    const stopped = Number(m![2] ?? m![4]);
    expect(stopped).toBeGreaterThan(0);
    expect(stopped).toBeLessThan(20 << 20);
    expect(r.stderr).toMatch(/hint: the first \d+ bytes are confirmed on the drive/);
    expect(r.stderr).not.toContain('read back and compared: sha256');
    expect(r.stderr).not.toMatch(/\n\s+at /);
  }, 120_000);
});

describe('kiln flash refuses, writing no byte', () => {
  const image = join(dir, 'small.img');
  beforeAll(() => writeFileSync(image, randomBytes(1 << 20)));

  /**
   * Runs kiln flash and checks the device's first `length` bytes are what they were (when this
   * process may read the device at all: a container's device cgroup may deny even root).
   */
  async function refused(args: string[], device: string, length = 2 << 20) {
    const readable = canRead(device);
    const before = readable ? sha(readRange(device, length)) : '';
    const r = await runKilnAsync(['flash', ...args]);
    if (readable) expect(sha(readRange(device, length)), `${device} changed:\n${r.stderr}`).toBe(before);
    expect(r.stderr).not.toMatch(/kiln: write /);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    return r;
  }

  it('the disk holding /', async () => {
    const source = tool(['findmnt', '--noheadings', '--output', 'SOURCE', '--target', '/']).stdout.trim();
    expect(source).toMatch(/^\/dev\//);
    const parent = tool(['lsblk', '--noheadings', '--nodeps', '--output', 'PKNAME', source]).stdout.trim();
    const disk = parent ? `/dev/${parent}` : source;
    // The image is the disk's own first 64 KiB: even a wrong write would change nothing. (Where the
    // container denies root the disk itself, EPERM, the refusal is still checked before any open.)
    const mirror = join(dir, 'root-head.img');
    writeFileSync(mirror, canRead(disk) ? readRange(disk, 64 << 10) : Buffer.alloc(64 << 10));
    const r = await refused([mirror, disk, '--yes', '--force'], disk, 64 << 10);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`${disk} holds / (the running system)`);
    expect(r.stderr).toContain('hint: this is the system disk');
    const list = await runKilnAsync(['flash', '--list', '--json']);
    const devices = (JSON.parse(list.stdout) as { devices: Array<{ path: string; holdsRoot: boolean }> }).devices;
    expect(devices.find((d) => d.path === disk)?.holdsRoot).toBe(true);
  }, 60_000);

  it('a mounted loop device, even with --force (and the kernel would refuse it too)', async () => {
    const file = join(dir, 'mounted.dev');
    writeFileSync(file, Buffer.alloc(0));
    run(['truncate', '-s', '8M', file]);
    run(['mkfs.ext2', '-q', file]);
    const device = attach(file);
    const mnt = join(dir, 'mnt');
    mount(device, mnt);
    const r = await refused([image, device, '--yes', '--force'], device);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`${device} has mounted file systems: ${mnt} (ext2)`);
    expect(r.stderr).toContain(`umount ${mnt}`);
    // Past kiln's own checks, the kernel refuses the exclusive open of a mounted device (EBUSY).
    const before = sha(readRange(device, 2 << 20));
    const opened = await openFlashImage(image);
    try {
      await expect(flashImage(opened, resolveDevice(device))).rejects.toMatchObject({ code: 'FLASH_DEVICE_BUSY' });
    } finally {
      await opened.close();
    }
    expect(sha(readRange(device, 2 << 20))).toBe(before);
  }, 60_000);

  it('a partition of a disk whose partition is mounted, and the disk itself', async () => {
    const file = join(dir, 'parted.dev');
    writeFileSync(file, Buffer.alloc(0));
    run(['truncate', '-s', '16M', file]);
    expect(tool(['sfdisk', '--quiet', file], { input: 'label: dos\n,8M,83\n,,83\n' }).status).toBe(0);
    const device = attach(file, true);
    run(['mkfs.ext2', '-q', `${device}p2`]);
    const mnt = join(dir, 'mnt-p2');
    mount(`${device}p2`, mnt);
    const part = await refused([image, `${device}p1`, '--yes', '--force'], device);
    expect(part.status).toBe(2);
    expect(part.stderr).toContain(`${device}p1 is partition ${device.slice(5)}p1 of ${device}`);
    const whole = await refused([image, device, '--yes', '--force'], device);
    expect(whole.status).toBe(1);
    expect(whole.stderr).toContain(`${device} has mounted file systems: ${mnt} (ext2)`);
  }, 60_000);

  it('a missing device, a non-removable one without --force, no confirmation, a too small disk', async () => {
    const missing = await runKilnAsync(['flash', image, '/dev/kiln-no-such-disk', '--yes']);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toContain('error: /dev/kiln-no-such-disk: no device /dev/kiln-no-such-disk: ENOENT');
    expect(missing.stderr).toContain('hint:');
    const device = attach(patterned('plain.dev', 4 << 20));
    const fixed = await refused([image, device, '--yes'], device);
    expect(fixed.status).toBe(1);
    expect(fixed.stderr).toContain(`${device} is not a removable disk`);
    expect(fixed.stderr).toContain('add --force');
    const unconfirmed = await refused([image, device, '--force'], device); // stdin is a pipe, not a terminal
    expect(unconfirmed.status).toBe(2);
    expect(unconfirmed.stderr).toContain('add --yes');
    const big = join(dir, 'big-for-small.img');
    writeFileSync(big, randomBytes(5 << 20));
    const small = await refused([big, device, '--yes', '--force'], device);
    expect(small.status).toBe(1);
    expect(small.stderr).toContain(`the image (5 MiB) is larger than ${device} (4 MiB)`);
    const noDevice = await runKilnAsync(['flash', image]);
    expect(noDevice.status).toBe(2);
    expect(noDevice.stdout).toMatch(/^DEVICE\s+SIZE\s+KIND\s+MODEL/);
    expect(noDevice.stdout).toContain(device);
  }, 60_000);

  it('an ELF is not a disk image', async () => {
    const device = attach(patterned('elf.dev', 4 << 20));
    const r = await refused([process.execPath, device, '--yes', '--force'], device);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('is an ELF file, not a disk image');
  }, 60_000);
});
