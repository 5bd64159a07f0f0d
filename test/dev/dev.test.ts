// kiln dev with real tools and real QEMU, driven like a user: one `kiln dev` process per test, files
// edited in a temporary copy of an example, keys typed on its stdin (a pipe: kiln dev reads keys
// from a pipe as from a terminal). Edit the banner → the new banner on the guest's serial from the
// same process; a syntax error → the error, no new boot; the fix → boots; a config edit → re-planned;
// a header edit in a C example → only the files that include it compile; q and Ctrl-C → no QEMU left.
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { kilnBin, repoRoot, tempDir } from '../_helpers.js';

/** Each test's timeout (the literal after each test below): a build, boots and rebuilds on a loaded 2-core machine. */
const TEST_MS = 360_000;

/** A running `kiln dev`: its output so far, waits on it, keys, signals. */
class Dev {
  readonly child: ChildProcess;
  stdout = '';
  stderr = '';
  readonly exited: Promise<number | null>;
  /** Every wait ends by this time, before vitest's own timeout, so a failure shows kiln dev's output. */
  private readonly deadline: number;

  constructor(cwd: string, args: string[] = [], budgetMs = TEST_MS - 20_000) {
    this.deadline = Date.now() + budgetMs;
    this.child = spawn(process.execPath, [kilnBin, 'dev', ...args], {
      cwd,
      env: { ...process.env, NO_COLOR: '1' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.child.stdout!.setEncoding('utf8').on('data', (c: string) => (this.stdout += c));
    this.child.stderr!.setEncoding('utf8').on('data', (c: string) => (this.stderr += c));
    this.exited = new Promise((resolve) => this.child.on('close', (code) => resolve(code)));
  }

  /** Waits until `stream` matches `pattern` at or after offset `from`; returns the offset after the match. */
  async waitFor(stream: 'stdout' | 'stderr', pattern: RegExp, from = 0, timeoutMs = 90_000): Promise<number> {
    const deadline = Math.min(Date.now() + timeoutMs, this.deadline);
    for (;;) {
      const text = this[stream].slice(from);
      const m = pattern.exec(text);
      if (m) return from + m.index + m[0].length;
      if (Date.now() > deadline || this.child.exitCode !== null) {
        throw new Error(
          `no ${pattern} on ${stream} by the deadline\n--- stdout:\n${this.stdout}\n--- stderr:\n${this.stderr}`,
        );
      }
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  /** The exit code, or a failure that shows both streams when kiln dev has not exited within `timeoutMs`. */
  async exit(timeoutMs = 60_000): Promise<number | null> {
    timeoutMs = Math.max(1_000, Math.min(timeoutMs, this.deadline - Date.now()));
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new Error(
              `kiln dev did not exit in ${timeoutMs} ms\n--- stdout:\n${this.stdout}\n--- stderr:\n${this.stderr}`,
            ),
          ),
        timeoutMs,
      );
    });
    try {
      return await Promise.race([this.exited, late]);
    } finally {
      clearTimeout(timer);
    }
  }

  key(k: string): void {
    this.child.stdin!.write(k);
  }
}

/** QEMU processes whose command line names `dir` (a leftover guest of this test). */
function qemusUnder(dir: string): number[] {
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let cmdline: string;
    try {
      cmdline = readFileSync(`/proc/${name}/cmdline`, 'utf8');
    } catch {
      continue;
    }
    if (cmdline.includes('qemu-system') && cmdline.includes(dir)) pids.push(Number(name));
  }
  return pids;
}

function copyExample(name: string): string {
  const dir = join(tempDir('kiln-dev-'), name);
  const example = join(repoRoot, 'examples', name);
  cpSync(example, dir, { recursive: true, filter: (src) => !/\/(build|\.kiln)(\/|$)/.test(src.slice(example.length)) });
  return dir;
}

function edit(file: string, from: string | RegExp, to: string): void {
  const text = readFileSync(file, 'utf8');
  const next = text.replace(from, to);
  if (next === text) throw new Error(`${file}: nothing to replace`);
  writeFileSync(file, next);
}

describe('kiln dev (examples/hello: nasm, raw image, BIOS boot)', () => {
  it('reboots on save, keeps the guest on a build error, boots the fix, re-plans on a config edit, r reboots, q quits', async () => {
    const dir = copyExample('hello');
    const dev = new Dev(dir);
    try {
      await dev.waitFor('stdout', /Hello from hello/);
      let err = await dev.waitFor('stderr', /guest ended \(exit code 0\)/);
      expect(dev.stderr).toMatch(/kiln dev: x86_64-debug: 2 steps, watching 2 files/);

      // A save: the new banner on the serial of a new boot, from the same process.
      edit(join(dir, 'boot.asm'), 'Hello from hello', 'Hello from dev 1');
      let out = await dev.waitFor('stdout', /Hello from dev 1/);
      err = await dev.waitFor(
        'stderr',
        /boot\.asm changed → ran boot, disk → rebooting · \d+ ms \(tools \d+ ms, kiln \d+ ms, kiln cpu \d+ ms\)\n/,
        err,
      );

      // A syntax error: nasm's error is shown, nothing boots.
      edit(join(dir, 'boot.asm'), '    cli\n', '    cli\n    bogus_instruction al\n');
      err = await dev.waitFor('stderr', /boot\.asm changed → boot failed → nothing boots until the fix/, err);
      expect(dev.stderr).toMatch(/FAILED boot: nasm failed/);
      expect(dev.stderr).toMatch(/boot\.asm:\d+: error/);
      await new Promise((r) => setTimeout(r, 1500));
      expect(dev.stdout.slice(out)).not.toMatch(/Hello/);

      // The fix boots again (with a new banner, so it is this build's image that boots).
      writeFileSync(
        join(dir, 'boot.asm'),
        readFileSync(join(dir, 'boot.asm'), 'utf8')
          .replace('    bogus_instruction al\n', '')
          .replace('Hello from dev 1', 'Hello from dev 2'),
      );
      out = await dev.waitFor('stdout', /Hello from dev 2/, out);
      err = await dev.waitFor('stderr', /boot\.asm changed → ran boot, disk → rebooting/, err);

      // A config edit plans again: a 2 MiB disk reruns the image step only.
      edit(join(dir, 'kiln.config.ts'), "size: '1M'", "size: '2M'");
      err = await dev.waitFor('stderr', /kiln\.config\.ts changed → re-planned → ran disk → rebooting/, err);
      out = await dev.waitFor('stdout', /Hello from dev 2/, out);

      // r reboots the same image; q quits and leaves no QEMU.
      dev.key('r');
      err = await dev.waitFor('stderr', /kiln dev: r → rebooting/, err);
      out = await dev.waitFor('stdout', /Hello from dev 2/, out);
      await dev.waitFor('stderr', /guest ended/, err);
      dev.key('q');
      expect(await dev.exit()).toBe(0);
      expect(dev.stderr).toMatch(/kiln dev: quit; no guest left running/);
      expect(qemusUnder(dir)).toEqual([]);
    } finally {
      dev.child.kill('SIGKILL');
    }
  }, 360_000);

  it('--test reruns the test on every save: a broken banner fails it, the fix passes', async () => {
    const dir = copyExample('hello');
    const dev = new Dev(dir, ['--test', 'hello']);
    try {
      let err = await dev.waitFor('stderr', /PASS hello \[x86_64\]/);
      err = await dev.waitFor('stderr', /1 passed, 0 failed/, err);
      edit(join(dir, 'boot.asm'), 'Hello from hello', 'Goodbye from hello');
      err = await dev.waitFor('stderr', /boot\.asm changed → ran boot, disk → testing/, err);
      err = await dev.waitFor('stderr', /FAIL hello \[x86_64\]/, err);
      edit(join(dir, 'boot.asm'), 'Goodbye from hello', 'Hello from hello');
      await dev.waitFor('stderr', /PASS hello \[x86_64\]/, err);
      dev.key('q');
      expect(await dev.exit()).toBe(0);
      expect(qemusUnder(dir)).toEqual([]);
    } finally {
      dev.child.kill('SIGKILL');
    }
  }, 360_000);
});

describe('kiln dev (examples/tinyc: C kernel, depfiles, a guest that keeps running)', () => {
  it('a header edit compiles exactly the files that include it and reboots; Ctrl-C leaves no QEMU', async () => {
    const dir = copyExample('tinyc');
    const dev = new Dev(dir);
    try {
      const out = await dev.waitFor('stdout', /tinyc> /, 0, 180_000);
      const err = await dev.waitFor('stderr', /started → ran .* → booting/);
      expect(qemusUnder(dir)).toHaveLength(1);
      const first = qemusUnder(dir)[0];

      // Who includes ide.h, according to the compiler's own depfiles.
      const work = join(dir, 'build', 'i386-debug', '.kiln', 'work', 'cc-kernel');
      const includers = readdirSync(work)
        .filter((f) => f.endsWith('.d'))
        .map((f) => readFileSync(join(work, f), 'utf8'))
        .filter((d) => /include\/ide\.h\b/.test(d))
        .map((d) => /^[^:]*?:\s*(\S+\.[cS])\b/.exec(d.replace(/\\\n/g, ' '))![1]!)
        .map((src) => relative(dir, join(dir, src)))
        .sort();
      expect(includers.length).toBeGreaterThan(0);
      expect(includers.length).toBeLessThan(10);

      writeFileSync(
        join(dir, 'include', 'ide.h'),
        `${readFileSync(join(dir, 'include', 'ide.h'), 'utf8')}/* edited by kiln dev's test */\n`,
      );
      await dev.waitFor(
        'stderr',
        /include\/ide\.h changed → ran [^\n]*\bkernel \(compile ([^)]*)\)[^\n]* → rebooting/,
        err,
      );
      const line = /include\/ide\.h changed → ran [^\n]*/.exec(dev.stderr)![0];
      const compiled = /\bkernel \(compile ([^)]*)\)/.exec(line)![1]!.split(', ').sort();
      expect(compiled).toEqual(includers);
      // mkfs reads include/ (its declared glob), but none of its files includes ide.h: it compiles nothing.
      expect(line).not.toMatch(/mkfs \(compile/);
      await dev.waitFor('stdout', /tinyc> /, out, 180_000);
      const now = qemusUnder(dir);
      expect(now).toHaveLength(1);
      expect(now[0]).not.toBe(first); // the old guest stopped, a new one booted

      dev.child.kill('SIGINT');
      expect(await dev.exit()).toBe(130);
      expect(dev.stderr).toMatch(/kiln dev: interrupted; no guest left running/);
      expect(qemusUnder(dir)).toEqual([]);
      expect(readdirSync(join(dir, 'build', 'i386-debug', '.kiln')).includes('staging')).toBe(false);
    } finally {
      dev.child.kill('SIGKILL');
    }
  }, 360_000);
});

// A C kernel for aarch64 virt built by kiln's cc step (clang, ld.lld), booted with -kernel and
// ended by semihosting; the project builds for x86_64 first, so --arch is what picks aarch64.
const A64_KERNEL = (banner: string) => `typedef unsigned long u64;
#define UART ((volatile unsigned int *)0x09000000)
static void puts_(const char *s) { while (*s) *UART = (unsigned int)*s++; }
static u64 block[2];
void kmain(void) {
  puts_("${banner}\\r\\n");
  block[0] = 0x20026; block[1] = 0;
  register u64 x0 __asm__("x0") = 0x18;
  register u64 x1 __asm__("x1") = (u64)block;
  __asm__ volatile("hlt #0xf000" : : "r"(x0), "r"(x1) : "memory");
  for (;;) __asm__ volatile("wfi");
}
__asm__(".section .text.boot,\\"ax\\"\\n.global _start\\n_start:\\n ldr x0, =stack_top\\n mov sp, x0\\n bl kmain\\n1: wfi\\n b 1b\\n");
`;

describe("kiln dev --arch aarch64 (a C kernel through kiln's cc step, -kernel, semihosting)", () => {
  it('boots the aarch64 kernel and boots it again after an edit', async () => {
    const dir = join(tempDir('kiln-dev-'), 'a64');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'kernel.c'), A64_KERNEL('a64 banner one'));
    writeFileSync(
      join(dir, 'kernel.ld'),
      `ENTRY(_start)
SECTIONS {
  . = 0x40080000;
  .text : { *(.text.boot) *(.text*) }
  .rodata : { *(.rodata*) }
  .data : { *(.data*) }
  .bss : { *(.bss*) *(COMMON) }
  . = ALIGN(16);
  . += 0x4000;
  stack_top = .;
}
`,
    );
    writeFileSync(
      join(dir, 'kiln.config.ts'),
      `import { cc, defineConfig } from 'kiln';
export default defineConfig({
  name: 'a64', arch: ['x86_64', 'aarch64'],
  build: () => {
    const kernel = cc.exe({ name: 'kernel', sources: ['kernel.c'], cflags: ['-mgeneral-regs-only', '-O2'], linkerScript: 'kernel.ld' });
    return { components: { kernel }, run: { kernel, exit: { kind: 'semihosting' as const } } };
  },
});
`,
    );
    const dev = new Dev(dir, ['--arch', 'aarch64']);
    try {
      const out = await dev.waitFor('stdout', /a64 banner one/, 0, 180_000);
      const err = await dev.waitFor('stderr', /guest ended \(exit code 0\)/);
      expect(dev.stderr).toMatch(/kiln dev: aarch64-debug: /);
      edit(join(dir, 'kernel.c'), 'a64 banner one', 'a64 banner two');
      await dev.waitFor('stdout', /a64 banner two/, out, 180_000);
      await dev.waitFor('stderr', /kernel\.c changed → ran kernel \(compile kernel\.c\) → rebooting/, err);
      dev.key('q');
      expect(await dev.exit()).toBe(0);
      expect(qemusUnder(dir)).toEqual([]);
    } finally {
      dev.child.kill('SIGKILL');
    }
  }, 360_000);
});
