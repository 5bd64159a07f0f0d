// kiln runner as cargo's runner: test/fixtures/runner-crate (a no_std x86_64 kernel of ours with a
// PVH note and custom_test_frameworks tests) is built by cargo with -Zbuild-std for its own target
// JSON (Debian's rustc-web 1.96, unpacked by scripts/setup.mjs into /opt/kiln-rust-web, vendored
// standard-library sources: offline) and every test binary is booted in QEMU by `kiln runner`.
// Passing tests exit 0; a failing test, a panic and a triple fault each fail cargo test with the
// reason shown; cargo run boots the kernel and exits with its code.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { kilnBin, repoRoot, runAsync, runKilnAsync, tempDir } from '../_helpers.js';
import { buildA64Kernel } from '../qemu/_kernels.js';

const RUST_WEB = process.env.KILN_RUST_WEB_DIR ?? '/opt/kiln-rust-web';
const crate = join(repoRoot, 'test/fixtures/runner-crate');
const target = tempDir('kiln-runner-');
const vendor = join(RUST_WEB, 'usr/lib/rustlib/src/rust/library/vendor');

/**
 * The -Zbuild-std route, as the seeds write it: `cargo ARGS --target x86_64-kilntest.json -Zbuild-std=...`
 * (rustc-web 1.96, vendored sources), with the runner pointed at this checkout's kiln.
 */
function cargo(args: string[]) {
  return runAsync(
    [
      join(RUST_WEB, 'usr/bin/cargo'),
      ...args,
      '--target',
      'x86_64-kilntest.json',
      '-Zjson-target-spec',
      '-Zbuild-std=core,compiler_builtins',
      '-Zbuild-std-features=compiler-builtins-mem',
      '--config',
      'source.crates-io.replace-with="kiln-vendor"',
      '--config',
      `source.kiln-vendor.directory="${vendor}"`,
    ],
    {
      cwd: crate,
      env: {
        ...process.env,
        RUSTC: join(RUST_WEB, 'usr/bin/rustc'),
        RUSTC_BOOTSTRAP: '1',
        CARGO_TARGET_DIR: join(target, 'target'),
        CARGO_TERM_COLOR: 'never',
        // What .cargo/config.toml says (runner = "kiln runner ..."), with this checkout's kiln.
        CARGO_TARGET_X86_64_KILNTEST_RUNNER: `${process.execPath} ${kilnBin} runner --timeout 120`,
      },
      timeoutMs: 1_200_000,
    },
  );
}

/**
 * The sysroot route: Debian's cargo/rustc 1.63 with `RUSTFLAGS=--sysroot $(kiln runner --sysroot SPEC)`
 * for the same crate's 1.63-format target JSON (x86_64-kilntest-sysroot.json).
 */
async function cargoSysroot(args: string[]) {
  const sysroot = await runKilnAsync(['runner', '--sysroot', 'x86_64-kilntest-sysroot.json'], {
    cwd: crate,
    timeoutMs: 1_200_000,
  });
  expect(sysroot.status, sysroot.stderr).toBe(0);
  expect(sysroot.stderr).toContain('rustc 1.63');
  return runAsync(['/usr/bin/cargo', ...args, '--target', 'x86_64-kilntest-sysroot.json'], {
    cwd: crate,
    env: {
      ...process.env,
      RUSTC: '/usr/bin/rustc',
      RUSTC_BOOTSTRAP: '1',
      RUSTFLAGS: `--sysroot ${sysroot.stdout.trim()}`,
      CARGO_TARGET_DIR: join(target, 'target-sysroot'),
      CARGO_TERM_COLOR: 'never',
      CARGO_TARGET_X86_64_KILNTEST_SYSROOT_RUNNER: `${process.execPath} ${kilnBin} runner --timeout 120`,
    },
    timeoutMs: 1_200_000,
  });
}

beforeAll(() => {
  expect(
    existsSync(join(RUST_WEB, 'usr/bin/cargo')),
    `rustc-web in ${RUST_WEB} (node scripts/setup.mjs unpacks it)`,
  ).toBe(true);
});

describe('kiln runner under cargo test / cargo run', () => {
  it("passing tests (the library's and the kernel binary's) exit 0, in cargo test's format", async () => {
    const r = await cargo(['test', '--lib', '--bins']);
    expect(r.status, r.stderr + r.stdout).toBe(0);
    expect(r.stdout).toContain('test kilntest::tests::adds ... ok');
    expect(r.stdout).toContain('test kilntest::tests::formats ... ok');
    expect(r.stdout).toContain('test kernel::boots ... ok');
    expect(r.stdout).toContain('test result: ok. 2 passed; 0 failed');
    expect(r.stderr).toMatch(/kiln runner: testing kilntest-[0-9a-f]+ \[x86_64\] via -kernel \(PVH ELF note/);
    expect(r.stderr).toContain('kiln runner: ok (QMP: VM started; isa-debug-exit exit: guest code 0');
  }, 1_200_000);

  it("a failing test fails cargo test, with the test's reason and the verdict", async () => {
    const r = await cargo(['test', '--test', 'failing']);
    expect(r.status, r.stderr + r.stdout).not.toBe(0);
    expect(r.stdout).toContain('test failing::checks_the_answer ... FAILED');
    expect(r.stdout).toContain('expected 6 * 7 == 41, it is 42');
    expect(r.stdout).toContain('test failing::passes ... ok');
    expect(r.stderr).toContain(
      'kiln runner: FAILED: unexpected exit code: the guest reported 1 (QEMU status 3 = (1 << 1) | 1), expected 0',
    );
    expect(r.stderr).toContain('error: test failed, to rerun pass `--test failing`');
  }, 600_000);

  it('a panic fails cargo test, with the panic message', async () => {
    const r = await cargo(['test', '--test', 'panicking']);
    expect(r.status, r.stderr + r.stdout).not.toBe(0);
    expect(r.stdout).toContain('test panicking::indexes_past_the_end ... FAILED');
    expect(r.stdout).toContain('index out of bounds: the len is 3 but the index is 7');
    expect(r.stderr).toContain('kiln runner: FAILED: unexpected exit code: the guest reported 1');
    expect(r.stderr).toContain('| index out of bounds: the len is 3 but the index is 7');
    expect(r.stderr).toContain('error: test failed, to rerun pass `--test panicking`');
  }, 600_000);

  it('a triple fault fails cargo test (QEMU itself would exit 0), with the registers', async () => {
    const r = await cargo(['test', '--test', 'triple_fault']);
    expect(r.status, r.stderr + r.stdout).not.toBe(0);
    expect(r.stdout).toContain('loading an empty IDT, then int3');
    expect(r.stderr).toContain(
      'kiln runner: FAILED: triple fault: the guest reset (QMP SHUTDOWN reason guest-reset under -no-reboot)',
    );
    expect(r.stderr).toMatch(/registers \(info registers\):\n\s+CPU#0\n\s+RAX=/);
    expect(r.stderr).toContain('error: test failed, to rerun pass `--test triple_fault`');
  }, 600_000);

  it('cargo run boots the kernel (not under deps/: run mode) and exits with its code', async () => {
    const r = await cargo(['run']);
    expect(r.status, r.stderr + r.stdout).toBe(0);
    expect(r.stdout).toContain('kilntest kernel: hello from long mode');
    expect(r.stderr).toMatch(/kiln runner: running kilntest \[x86_64\] via -kernel/);
  }, 600_000);

  it("the sysroot route (rustc 1.63, kiln's cached sysroot): passing tests exit 0, a panic fails", async () => {
    const ok = await cargoSysroot(['test', '--lib', '--bins']);
    expect(ok.status, ok.stderr + ok.stdout).toBe(0);
    expect(ok.stdout).toContain('test result: ok. 2 passed; 0 failed');
    expect(ok.stdout).toContain('test kernel::boots ... ok');
    const panic = await cargoSysroot(['test', '--test', 'panicking']);
    expect(panic.status, panic.stderr + panic.stdout).not.toBe(0);
    expect(panic.stdout).toContain('index out of bounds: the len is 3 but the index is 7');
    expect(panic.stderr).toContain('kiln runner: FAILED: unexpected exit code: the guest reported 1');
  }, 1_200_000);

  it("an aarch64 ELF boots with -kernel on virt; -c takes the machine (exit code) from a config's run section", async () => {
    const ok = buildA64Kernel(join(target, 'a64'), 'ok');
    const fail = buildA64Kernel(join(target, 'a64'), 'fail'); // reports 3 through semihosting
    const pass = await runKilnAsync(['runner', '--mode', 'test', ok]);
    expect(pass.status, pass.stderr).toBe(0);
    expect(pass.stderr).toMatch(/kiln runner: testing a64-ok\.elf \[aarch64\] via -kernel \(ELF64 aarch64/);
    expect(pass.stdout).toContain('KILN-END');
    const failed = await runKilnAsync(['runner', '--mode', 'test', fail]);
    expect(failed.status).toBe(1);
    expect(failed.stderr).toContain('kiln runner: FAILED: unexpected exit code: the guest reported 3');
    // A project whose guest reports 3 on success.
    const project = join(target, 'project');
    mkdirSync(project, { recursive: true });
    writeFileSync(
      join(project, 'kiln.config.ts'),
      `import { defineConfig } from 'kiln';
export default defineConfig({ name: 'runner-config', arch: 'aarch64',
  build: () => ({ run: { kernel: 'unused.elf', machine: 'virt', exit: { kind: 'semihosting', success: 3 } } }) });
`,
    );
    const withConfig = await runKilnAsync(['runner', '--mode', 'test', '-c', join(project, 'kiln.config.ts'), fail]);
    expect(withConfig.status, withConfig.stderr).toBe(0);
    expect(withConfig.stderr).toContain('semihosting exit: guest code 3');
  }, 300_000);

  it('called without a built ELF, it says how cargo calls it', async () => {
    const r = await runKilnAsync(['runner', join(target, 'no-such-elf')]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('cannot open');
    expect(r.stderr).toContain('runner = "kiln runner"');
  });
});
