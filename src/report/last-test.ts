/**
 * What the last `kiln test` of a project proved, kept for `kiln status` (ExoV6's "success criteria":
 * the kernel's ELF checks, the boot result, the serial lines matched, the numbers measured). Written
 * by `kiln test` to `build/logs/tests/last-test.json`; read back by the status report.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { readElf } from '../formats/elf/read.js';

/** One test's verdict as `kiln test` records it for `kiln status`. */
export interface LastTestResult {
  name: string;
  arch: string;
  status: 'passed' | 'failed';
  reason?: string;
  durationMs: number;
  /** The serial expectations, each matched or not. */
  expectations: Array<{ pattern: string; matched: boolean }>;
  /** Numbers read from serial with their limits. */
  measurements: Array<{ name: string; value: number; min?: number; max?: number; note?: string; ok: boolean }>;
  evidence: string[];
  /** The kernel booted with -kernel, when there was one. */
  kernel?: string;
}

/** The record of the last `kiln test` run (`build/logs/tests/last-test.json`). */
export interface LastTest {
  version: 1;
  time: number;
  results: LastTestResult[];
}

/** The file's place under a build root. */
export function lastTestPath(buildRoot: string): string {
  return join(buildRoot, 'logs', 'tests', 'last-test.json');
}

/** Writes the record (atomically enough for one writer: the lock is held by `kiln test`). */
export function writeLastTest(file: string, record: LastTest): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(record, null, 1)}\n`);
}

/** The last `kiln test` record under `buildRoot`, or undefined when there is none (or it is unreadable). */
export function readLastTest(buildRoot: string): LastTest | undefined {
  const file = lastTestPath(buildRoot);
  if (!existsSync(file)) return undefined;
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as LastTest;
    return parsed.version === 1 && Array.isArray(parsed.results) ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/** One check of the kernel file, as the seed's report lists them ("ELF64 format verified"). */
export interface ElfCheck {
  check: string;
  ok: boolean;
  detail: string;
}

/** ELF checks of a booted kernel: it parses, its class and machine, its entry inside a loadable segment. */
export function elfChecks(file: string, arch: string): ElfCheck[] {
  if (!existsSync(file)) return [{ check: 'kernel file', ok: false, detail: `${file} is gone` }];
  let elf;
  try {
    elf = readElf(new Uint8Array(readFileSync(file)));
  } catch (error) {
    return [{ check: 'ELF', ok: false, detail: (error as Error).message }];
  }
  const wantClass = arch === 'i386' ? 32 : 64;
  const machine = elf.machineName;
  const loads = elf.segments.filter((s) => s.type === 1);
  const entry = elf.entry;
  const inside = loads.some((s) => entry >= BigInt(s.vaddr) && entry < BigInt(s.vaddr) + BigInt(s.memsz));
  return [
    {
      check: `ELF${wantClass}`,
      ok: (elf.is64 ? 64 : 32) === wantClass,
      detail: `ELF${elf.is64 ? 64 : 32}, ${elf.littleEndian ? 'little' : 'big'}-endian`,
    },
    { check: 'machine', ok: machine === arch, detail: machine },
    {
      check: 'entry point',
      ok: inside,
      detail: `0x${entry.toString(16)} ${inside ? 'inside' : 'outside'} the ${loads.length} loadable segment(s)`,
    },
  ];
}
