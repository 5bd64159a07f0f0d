/**
 * `kiln image raw OUT --size 8M --region 0:boot.bin ...`, the Portix preset `--portix`, and
 * `kiln image raw ls DISK`: fixed-LBA raw disks (boot sector, stage 2, kernel, patches, an optional
 * partition over the rest), like build.py's dd + sector poking.
 */
import { readFile, stat } from 'node:fs/promises';
import type { Command } from 'commander';
import { KilnError } from '../errors.js';
import { FileSource } from '../formats/io/block-source.js';
import { fileContent } from '../formats/io/content.js';
import {
  layoutRaw,
  portixLayout,
  readRaw,
  writeRaw,
  type RawOptions,
  type RawPatchSpec,
  type RawPatchValue,
  type RawPartitionSpec,
  type RawRegionSpec,
} from '../formats/raw/index.js';
import { writeImageFile } from '../formats/io/block-writer.js';
import { formatSize } from '../util/size.js';
import { computeGeometry } from '../formats/fat/index.js';
import { printJson } from './_shared.js';
import { action, withFile } from './_shared.js';
import { collect } from './_options.js';
import { partitionSource } from './_partition-source.js';

interface WriteFlags {
  size?: string;
  minSize?: string;
  region?: string[];
  patch?: string[];
  symbols?: string[];
  partition?: string;
  portix?: boolean;
  stage1?: string;
  stage2?: string;
  kernel?: string;
  kernelLbaAt?: string;
  kernelSectorsAt?: string;
  json?: boolean;
}

function integer(text: string, what: string): number {
  const n = /^0x[0-9a-f]+$/i.test(text) ? parseInt(text, 16) : /^\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n))
    throw new KilnError(
      'CLI_BAD_OPTION',
      `${what}: expected a number (decimal or 0x hex), got ${JSON.stringify(text)}`,
    );
  return n;
}

/** Reads symbols from a nasm map file (`[map symbols FILE]`: "Real  Virtual  Name" lines) or NAME=OFFSET lines; values are offsets from the section start. */
async function readSymbols(path: string): Promise<Record<string, number>> {
  const text = await readFile(path, 'utf8');
  const symbols: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const nasm = /^\s*([0-9A-F]+)\s+([0-9A-F]+)\s+([A-Za-z_.$?@][\w.$?@#~]*)\s*$/i.exec(line);
    const pair = /^\s*([A-Za-z_.$?@][\w.$?@#~]*)\s*=\s*(0x[0-9a-f]+|\d+)\s*$/i.exec(line);
    if (nasm) symbols[nasm[3]!] = parseInt(nasm[1]!, 16);
    else if (pair) symbols[pair[1]!] = integer(pair[2]!, path);
  }
  return symbols;
}

/** `lba(NAME)`, `sectors(NAME)`, `size(NAME)` or a number. */
function patchValue(text: string, what: string): RawPatchValue {
  const m = /^(lba|sectors|size)\((.+)\)$/.exec(text);
  if (m) return m[1] === 'lba' ? { lbaOf: m[2]! } : m[1] === 'sectors' ? { sectorsOf: m[2]! } : { sizeOf: m[2]! };
  if (/^(0x[0-9a-f]+|\d+)$/i.test(text)) return BigInt(text);
  throw new KilnError(
    'CLI_BAD_OPTION',
    `${what}: value ${JSON.stringify(text)} is not a number, lba(NAME), sectors(NAME) or size(NAME)`,
  );
}

/** FAT partition type names and the FAT type they force when the partition is formatted from a folder. */
const FAT_BITS: Record<string, 12 | 16 | 32> = {
  fat12: 12,
  fat16: 16,
  'fat16-small': 16,
  'fat16-lba': 16,
  fat32: 32,
  'fat32-chs': 32,
};
/** Set when `--partition fat=DIR` gives no type: the type byte follows the FAT type chosen for the size. */
let autoFatType = false;

async function buildOptions(flags: WriteFlags): Promise<RawOptions> {
  const symbolsByRegion = new Map<string, Record<string, number>>();
  for (const s of flags.symbols ?? []) {
    const m = /^([^=]+)=(.+?)(?:@(0x[0-9a-f]+|\d+))?$/i.exec(s);
    if (!m)
      throw new KilnError('CLI_BAD_OPTION', `--symbols ${JSON.stringify(s)}: expected REGION=FILE[@ORG]`, {
        hint: 'e.g. --symbols stage2=build/stage2.map@0x7e00 (ORG is subtracted: nasm maps give org-relative addresses)',
      });
    const base = m[3] ? integer(m[3], '--symbols') : 0;
    const symbols = await readSymbols(m[2]!);
    for (const key of Object.keys(symbols)) symbols[key]! -= base;
    symbolsByRegion.set(m[1]!, symbols);
  }
  const patches: RawPatchSpec[] = (flags.patch ?? []).map((spec) => {
    const [region, at, type, value] = spec.split(':');
    const what = `--patch ${JSON.stringify(spec)}`;
    if (!region || !at || !type || !value || !['u8', 'u16', 'u32', 'u64', 'u16be', 'u32be', 'u64be'].includes(type)) {
      throw new KilnError('CLI_BAD_OPTION', `${what}: expected REGION:OFFSET|SYMBOL:u8|u16|u32|u64[be]:VALUE`, {
        hint: 'e.g. --patch stage2:kernel_lba:u32:lba(kernel)',
      });
    }
    return {
      region,
      at: /^(0x[0-9a-f]+|\d+)$/i.test(at) ? integer(at, what) : { symbol: at },
      type: type.replace('be', '') as RawPatchSpec['type'],
      endian: type.endsWith('be') ? 'be' : 'le',
      value: patchValue(value, what),
    };
  });
  let partition: RawPartitionSpec | undefined;
  if (flags.partition !== undefined) {
    const spec = flags.partition;
    const colon = spec.indexOf(':');
    // `fat=DIR` alone, `TYPE`, or `TYPE:SOURCE`.
    const [type, source] = spec.startsWith('fat=')
      ? ['', spec]
      : colon < 0
        ? [spec, '']
        : [spec.slice(0, colon), spec.slice(colon + 1)];
    const what = `--partition ${JSON.stringify(spec)}`;
    const fatBits = FAT_BITS[type.toLowerCase()];
    partition = { ...(await partitionSource(source || undefined, what, fatBits ? { type: fatBits } : {})) };
    if (type)
      partition.type = /^0x[0-9a-f]{1,2}$/i.test(type)
        ? parseInt(type, 16)
        : (type as RawPartitionSpec['type'] & string);
    else if (source.startsWith('fat=')) autoFatType = true;
  }
  if (flags.portix) {
    if (!flags.stage1 || !flags.stage2 || !flags.kernel)
      throw new KilnError('CLI_MISSING_OPTION', '--portix needs --stage1, --stage2 and --kernel', {
        hint: 'kiln image raw portix.img --portix --stage1 build/boot.bin --stage2 build/stage2.bin --kernel build/kernel.bin',
      });
    const symbols = symbolsByRegion.get('stage2');
    const at = (text: string | undefined) =>
      text === undefined
        ? undefined
        : /^(0x[0-9a-f]+|\d+)$/i.test(text)
          ? integer(text, '--kernel-*-at')
          : { symbol: text };
    const kernelLbaAt = at(flags.kernelLbaAt);
    const kernelSectorsAt = at(flags.kernelSectorsAt);
    const options = portixLayout({
      stage1: await optionFile(flags.stage1, '--stage1'),
      stage2: await optionFile(flags.stage2, '--stage2'),
      kernel: await optionFile(flags.kernel, '--kernel'),
      ...(flags.size ? { size: flags.size } : {}),
      ...(kernelLbaAt !== undefined ? { kernelLbaAt } : {}),
      ...(kernelSectorsAt !== undefined ? { kernelSectorsAt } : {}),
      ...(symbols ? { stage2Symbols: symbols } : {}),
      ...(partition ? { partition } : {}),
    });
    options.patches = [...(options.patches ?? []), ...patches];
    if (flags.minSize) options.minSize = flags.minSize;
    return options;
  }
  if (!flags.size) throw new KilnError('CLI_MISSING_OPTION', 'kiln image raw: --size is required (e.g. --size 8M)');
  const regions: RawRegionSpec[] = [];
  for (const spec of flags.region ?? []) {
    const [lba, file, name, maxSectors] = spec.split(':');
    const what = `--region ${JSON.stringify(spec)}`;
    if (lba === undefined || !file)
      throw new KilnError('CLI_BAD_OPTION', `${what}: expected LBA:FILE[:NAME[:MAX_SECTORS]]`, {
        hint: 'e.g. --region 0:boot.bin:stage1 --region 1:stage2.bin:stage2:64',
      });
    const regionName = name || `lba${lba}`;
    const region: RawRegionSpec = { name: regionName, lba: integer(lba, what), content: await optionFile(file, what) };
    if (maxSectors) region.maxSectors = integer(maxSectors, what);
    const symbols = symbolsByRegion.get(regionName);
    if (symbols) region.symbols = symbols;
    regions.push(region);
  }
  return {
    size: flags.size,
    ...(flags.minSize ? { minSize: flags.minSize } : {}),
    regions,
    patches,
    ...(partition ? { partition } : {}),
  };
}

async function writeCommand(out: string | undefined, flags: WriteFlags): Promise<void> {
  if (!out)
    throw new KilnError(
      'CLI_MISSING_ARGUMENT',
      'kiln image raw: give the disk image to write (OUT), or a subcommand (ls)',
      { hint: 'kiln image raw disk.img --size 8M --region 0:boot.bin:stage1' },
    );
  const layout = await layoutRaw(await buildOptions(flags));
  if (autoFatType && layout.partition) {
    // The same choice the FAT writer makes for this size (mkfs.fat's rules).
    const bits = computeGeometry(layout.partition.sectors * 512).type;
    layout.partition.type = bits === 32 ? 0x0c : bits === 16 ? 0x0e : 0x01;
  }
  await writeImageFile(out, layout.size, (sink) => writeRaw(sink, layout));
  const regions = layout.regions.map((r) => ({ name: r.name, lba: r.lba, sectors: r.sectors, size: r.size }));
  const patches = layout.patches.map((p) => ({
    region: p.region,
    offset: p.offset,
    type: p.type,
    endian: p.endian,
    value: Number(p.value),
  }));
  const partition = layout.partition
    ? {
        slot: layout.partition.slot,
        type: layout.partition.type,
        startLba: layout.partition.startLba,
        sectors: layout.partition.sectors,
      }
    : undefined;
  if (flags.json) {
    printJson({ ok: true, image: out, size: layout.size, regions, patches, ...(partition ? { partition } : {}) });
    return;
  }
  process.stdout.write(`${out}: raw, ${formatSize(layout.size)}\n`);
  for (const r of regions)
    process.stdout.write(
      `  LBA ${String(r.lba).padStart(8)}  ${String(r.sectors).padStart(6)} sectors  ${r.name} (${r.size} bytes)\n`,
    );
  for (const p of patches)
    process.stdout.write(
      `  patch ${p.region}+0x${p.offset.toString(16)} ${p.type}${p.endian === 'be' ? 'be' : ''} = ${p.value}\n`,
    );
  if (partition)
    process.stdout.write(
      `  partition ${partition.slot}: type 0x${partition.type.toString(16).padStart(2, '0')}, LBA ${partition.startLba}, ${partition.sectors} sectors (${formatSize(partition.sectors * 512)})\n`,
    );
}

/** Registers `kiln image raw` and its subcommands. */
/** The content of a file named by an option; a missing one is named with its option. */
async function optionFile(path: string, what: string): ReturnType<typeof fileContent> {
  const info = await stat(path).catch(() => undefined);
  if (!info?.isFile()) {
    throw new KilnError('CLI_BAD_OPTION', `${what}: ${path}: ${info ? 'is a folder, not a file' : 'no such file'}`, {
      hint: 'build it first, or check the path',
    });
  }
  return fileContent(path);
}

export function registerImageRaw(image: Command): void {
  const raw = image
    .command('raw')
    .description(
      'write a fixed-LBA raw disk (boot sector, stage 2, kernel, patches, optional partition over the rest), or inspect one',
    )
    .argument('[out]', 'disk image to write')
    .option('--size <size>', 'disk size, e.g. 8M (required; --portix defaults to 8M)')
    .option('--min-size <size>', 'refuse a disk smaller than this (--portix: 8M)')
    .option('--region <LBA:FILE[:NAME[:MAX_SECTORS]]>', 'a file placed at a sector, repeatable', collect, [])
    .option(
      '--patch <REGION:AT:TYPE:VALUE>',
      'write a value into a region, repeatable. AT: byte offset or symbol; TYPE: u8, u16, u32, u64 (+be); VALUE: number, lba(NAME), sectors(NAME), size(NAME)',
      collect,
      [],
    )
    .option(
      '--symbols <REGION=FILE[@ORG]>',
      "symbol offsets of a region: a nasm map file ([map symbols FILE]) or NAME=OFFSET lines, minus ORG (the region's org, e.g. 0x7e00); repeatable",
      collect,
      [],
    )
    .option(
      '--partition <TYPE[:SOURCE]|fat=DIR>',
      'an MBR partition after the regions over the rest of the disk. TYPE: fat32 (default), fat16, fat12, linux, hex byte; SOURCE: image file or fat=DIR (formatted as the FAT type TYPE names; with fat=DIR alone, the type mkfs.fat would pick for the size, and the matching type byte)',
    )
    .option(
      '--portix',
      'the Portix layout: --stage1 at LBA 0 (512 bytes, 0x55AA), --stage2 at LBA 1 (max 64 sectors), --kernel at LBA 65',
      false,
    )
    .option('--stage1 <file>', 'Portix boot sector (boot.bin)')
    .option('--stage2 <file>', 'Portix stage 2 (stage2.bin)')
    .option('--kernel <file>', 'Portix kernel (kernel.bin)')
    .option('--kernel-lba-at <offset|symbol>', 'Portix: patch the kernel LBA (u32) into stage 2 here')
    .option('--kernel-sectors-at <offset|symbol>', 'Portix: patch the kernel sector count (u16) into stage 2 here')
    .option('--json', 'print the result as JSON', false)
    .addHelpText(
      'after',
      '\nExamples:\n  kiln image raw portix.img --portix --stage1 build/boot.bin --stage2 build/stage2.bin --kernel build/kernel.bin --symbols stage2=build/stage2.map@0x7e00 --kernel-lba-at kernel_lba --size 16M --partition fat32:fat=storage\n  kiln image raw disk.img --size 8M --region 0:boot.bin:stage1 --region 1:stage2.bin:stage2:64 --region 65:kernel.bin:kernel --patch stage2:0x1f8:u32:lba(kernel)\n  kiln image raw ls portix.img',
    )
    .action(action(async (out: string | undefined, flags: WriteFlags) => writeCommand(out, flags)));

  raw
    .command('ls')
    .description('show the boot signature and MBR partition records of a raw disk')
    .argument('<image>', 'disk image')
    .option('--json', 'print JSON', false)
    .action(
      action(async (path: string, flags: { json?: boolean }) => {
        const source = await FileSource.open(path, 'raw');
        try {
          const info = await withFile(path, () => readRaw(source));
          if (flags.json) {
            const mbr = info.mbr
              ? {
                  ...info.mbr,
                  bootCode: undefined,
                  diskSignature: `0x${info.mbr.diskSignature.toString(16).padStart(8, '0')}`,
                }
              : undefined;
            printJson({ size: info.size, bootSignature: info.bootSignature, ...(mbr ? { mbr } : {}) });
            return;
          }
          process.stdout.write(
            `${path}: raw, ${formatSize(info.size)}, boot signature ${info.bootSignature ? 'present (55 AA)' : 'absent'}\n`,
          );
          for (const p of info.mbr?.partitions ?? []) {
            process.stdout.write(
              `  partition ${p.index}${p.bootable ? '*' : ''}: type 0x${p.type.toString(16).padStart(2, '0')} ${p.typeName ?? ''}, LBA ${p.startLba}, ${p.sectors} sectors (${formatSize(p.sectors * 512)})\n`,
            );
          }
        } finally {
          await source.close();
        }
      }),
    );
}
