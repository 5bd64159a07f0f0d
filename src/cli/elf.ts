/**
 * `kiln elf ...`: inspect and edit ELF files without binutils.
 *   kiln elf info FILE [--json]
 *   kiln elf strip IN -o OUT [--debug-only] [--debug-file F]
 *   kiln elf objcopy IN -o OUT.bin [--json]
 *   kiln elf add-section IN --name .x --file DATA -o OUT [--replace] [--align N] [--type progbits|note]
 *   kiln elf build-id FILE [--set HEX|sha1] [-o OUT]
 * Every write is atomic (a temporary file in the same folder, then rename) and keeps the input's mode.
 */
import { readFile, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import type { Command } from 'commander';
import { KilnError } from '../errors.js';
import { writeFileAtomic } from '../util/atomic.js';
import {
  addSection,
  objcopyBinary,
  readElf,
  readBuildId,
  setBuildId,
  setSection,
  strip,
  summarizeElf,
  type ElfFile,
  type ElfSummary,
} from '../formats/elf/index.js';
import { globalOptions, printJson, reportError } from './_shared.js';

async function load(path: string): Promise<{ bytes: Uint8Array; mode: number }> {
  const s = await stat(path).catch(() => undefined);
  if (!s?.isFile()) {
    throw new KilnError(
      'ELF_INPUT_MISSING',
      s ? `is ${s.isDirectory() ? 'a folder' : 'not a regular file'}, not an ELF file` : 'no such file',
      { location: { file: path }, hint: 'give the path of an ELF file' },
    );
  }
  return { bytes: new Uint8Array(await readFile(path)), mode: s.mode & 0o777 };
}

function parse(path: string, bytes: Uint8Array): ElfFile {
  try {
    return readElf(bytes);
  } catch (error) {
    if (error instanceof KilnError && error.location) error.location.file = path;
    throw error;
  }
}

function requireOutput(output: string | undefined, command: string): string {
  if (!output)
    throw new KilnError('CLI_MISSING_OPTION', `kiln elf ${command}: -o OUT is required`, {
      hint: `kiln elf ${command} IN -o OUT`,
    });
  return output;
}

function pad(text: string, width: number): string {
  return text.length >= width ? text : text + ' '.repeat(width - text.length);
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows
    .map((r) => `  ${r.map((c, i) => (i === r.length - 1 ? c : pad(c, widths[i]!))).join('  ')}`.trimEnd())
    .join('\n');
}

function printInfo(path: string, s: ElfSummary): void {
  const out: string[] = [];
  out.push(
    `${path}: ELF${s.class} ${s.endian}-endian ${s.machine} (machine ${s.machineNumber}) ${s.type}, flags ${s.flags}`,
  );
  const entryWhere = s.entrySegment
    ? ` in segment ${s.entrySegment.index} (LOAD ${s.entrySegment.flags.trim() || '-'}${s.entrySegment.executable ? '' : ', NOT executable'})`
    : s.type === 'REL'
      ? ''
      : ' (outside every PT_LOAD segment)';
  const physical = s.entryPhysical && s.entryPhysical !== s.entry ? ` (physical ${s.entryPhysical})` : '';
  out.push(`entry point      ${s.entry}${physical}${entryWhere}${s.entrySection ? `, section ${s.entrySection}` : ''}`);
  if (s.loadAddress) out.push(`load address     ${s.loadAddress} (physical; virtual ${s.loadVirtualAddress})`);
  if (s.interpreter) out.push(`interpreter      ${s.interpreter}`);
  out.push(`build id         ${s.buildId ?? '(none)'}`);
  if (s.pvhEntry) out.push(`PVH entry        ${s.pvhEntry} (Xen note 18: bootable with qemu-system-x86_64 -kernel)`);
  for (const m of s.multiboot)
    out.push(`multiboot${m.version === 2 ? '2' : ''} header at file offset 0x${m.offset.toString(16)}`);
  out.push(`symbols          ${s.symbols.symtab} in .symtab, ${s.symbols.dynsym} in .dynsym`);
  if (s.segments.length) {
    out.push('', 'Segments:');
    out.push(
      table([
        ['#', 'type', 'offset', 'vaddr', 'paddr', 'filesz', 'memsz', 'flags', 'align', 'sections'],
        ...s.segments.map((p) => [
          String(p.index),
          p.type,
          `0x${p.offset.toString(16)}`,
          p.vaddr,
          p.paddr,
          String(p.filesz),
          String(BigInt(p.memsz)),
          p.flags.replace(/ /g, '-'),
          p.align,
          p.sections.join(' '),
        ]),
      ]),
    );
  } else {
    out.push('', 'Segments: none');
  }
  if (s.sections.length) {
    out.push('', 'Sections:');
    out.push(
      table([
        ['#', 'name', 'type', 'addr', 'offset', 'size', 'flags', 'align'],
        ...s.sections.map((x) => [
          String(x.index),
          x.name,
          x.type,
          x.addr,
          `0x${x.offset.toString(16)}`,
          String(x.size),
          x.flags || '-',
          String(x.align),
        ]),
      ]),
    );
  }
  if (s.notes.length) {
    out.push('', 'Notes:');
    for (const n of s.notes)
      out.push(
        `  ${n.owner} ${n.type} (${n.size} bytes, ${n.source})${n.value ? `: ${n.value}` : ''}${n.text ? `: ${n.text}` : ''}${n.description ? `: ${n.description}` : ''}`,
      );
  }
  process.stdout.write(`${out.join('\n')}\n`);
}

async function infoCommand(file: string, flags: { json?: boolean }): Promise<void> {
  const { bytes } = await load(file);
  const summary = summarizeElf(parse(file, bytes));
  if (flags.json) printJson({ ok: true, file, ...summary });
  else printInfo(file, summary);
}

async function stripCommand(
  input: string,
  flags: { output?: string; debugOnly?: boolean; debugFile?: string; json?: boolean },
): Promise<void> {
  const output = requireOutput(flags.output, 'strip');
  const { bytes, mode } = await load(input);
  const elf = parse(input, bytes);
  const result = strip(elf, {
    mode: flags.debugOnly ? 'debug' : 'all',
    debugLink: flags.debugFile ? basename(flags.debugFile) : false,
  });
  if (flags.debugFile) writeFileAtomic(flags.debugFile, result.debug, { mode: 0o644, mkdir: false });
  writeFileAtomic(output, result.stripped, { mode, mkdir: false });
  if (flags.json) {
    printJson({
      ok: true,
      input,
      output,
      debugFile: flags.debugFile ?? null,
      removed: result.removed,
      size: result.stripped.length,
      before: bytes.length,
    });
    return;
  }
  process.stdout.write(
    `${output}: ${bytes.length} -> ${result.stripped.length} bytes, removed ${result.removed.length ? result.removed.join(' ') : 'nothing'}\n`,
  );
  if (flags.debugFile)
    process.stdout.write(`${flags.debugFile}: debug file (${result.debug.length} bytes), linked by .gnu_debuglink\n`);
}

async function objcopyCommand(input: string, flags: { output?: string; json?: boolean }): Promise<void> {
  const output = requireOutput(flags.output, 'objcopy');
  const { bytes } = await load(input);
  const raw = objcopyBinary(parse(input, bytes));
  writeFileAtomic(output, raw.bytes, { mode: 0o644, mkdir: false });
  const summary = {
    loadAddress: `0x${raw.loadAddress.toString(16)}`,
    entry: `0x${raw.entry.toString(16)}`,
    entryOffset: raw.entryOffset ?? null,
    size: raw.bytes.length,
  };
  if (flags.json) {
    printJson({ ok: true, input, output, ...summary });
    return;
  }
  process.stdout.write(
    `${output}: ${raw.bytes.length} bytes, load address ${summary.loadAddress}, entry ${summary.entry}${raw.entryOffset !== undefined ? ` (offset 0x${raw.entryOffset.toString(16)})` : ''}\n`,
  );
}

const SECTION_TYPES: Record<string, number> = { progbits: 1, note: 7 };

async function addSectionCommand(
  input: string,
  flags: { name?: string; file?: string; output?: string; replace?: boolean; align?: string; type?: string },
): Promise<void> {
  const output = requireOutput(flags.output, 'add-section');
  if (!flags.name)
    throw new KilnError('CLI_MISSING_OPTION', 'kiln elf add-section: --name is required', {
      hint: 'kiln elf add-section kernel.elf --name .kiln.manifest --file manifest.bin -o out.elf',
    });
  if (!flags.file)
    throw new KilnError('CLI_MISSING_OPTION', 'kiln elf add-section: --file is required (the section contents)');
  const align = flags.align === undefined ? undefined : Number(flags.align);
  if (align !== undefined && (!Number.isSafeInteger(align) || align < 1 || (align & (align - 1)) !== 0)) {
    throw new KilnError('CLI_BAD_OPTION', `--align: expected a power of two, got ${JSON.stringify(flags.align)}`);
  }
  const type = flags.type === undefined ? undefined : SECTION_TYPES[flags.type];
  if (flags.type !== undefined && type === undefined)
    throw new KilnError('CLI_BAD_OPTION', `--type: expected progbits or note, got ${JSON.stringify(flags.type)}`);
  const { bytes, mode } = await load(input);
  const elf = parse(input, bytes);
  const data = new Uint8Array(await readFile(flags.file));
  const options = { ...(align !== undefined ? { align } : {}), ...(type !== undefined ? { type } : {}) };
  const out = flags.replace ? setSection(elf, flags.name, data, options) : addSection(elf, flags.name, data, options);
  writeFileAtomic(output, out, { mode, mkdir: false });
  process.stdout.write(`${output}: section ${flags.name} (${data.length} bytes) ${flags.replace ? 'set' : 'added'}\n`);
}

async function buildIdCommand(file: string, flags: { set?: string; output?: string; json?: boolean }): Promise<void> {
  const { bytes, mode } = await load(file);
  const elf = parse(file, bytes);
  if (flags.set === undefined) {
    const id = readBuildId(elf);
    if (flags.json) printJson({ ok: true, file, buildId: id ?? null });
    else if (id) process.stdout.write(`${id}\n`);
    else {
      process.stderr.write(`${file}: no GNU build id\n`);
      process.exitCode = 1;
    }
    return;
  }
  const value = flags.set.toLowerCase();
  if (value !== 'sha1' && !/^(?:[0-9a-f]{2}){1,64}$/.test(value)) {
    throw new KilnError(
      'CLI_BAD_OPTION',
      `--set: expected "sha1" or an even number of hex digits, got ${JSON.stringify(flags.set)}`,
    );
  }
  const out = setBuildId(elf, value);
  const target = flags.output ?? file;
  writeFileAtomic(target, out, { mode, mkdir: false });
  const id = readBuildId(out)!;
  if (flags.json) printJson({ ok: true, file: target, buildId: id });
  else process.stdout.write(`${id}\n`);
}

function wrap<A extends unknown[]>(
  fn: (...args: A) => Promise<void>,
  json: (...args: A) => boolean,
): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await fn(...args);
    } catch (error) {
      reportError(error, { ...globalOptions(), json: json(...args) });
    }
  };
}

/**
 * Registers `kiln elf` and its subcommands.
 * @example registerElf(program)
 */
export function registerElf(program: Command): void {
  const elf = program
    .command('elf')
    .description('inspect and edit ELF files: info, strip, objcopy -O binary, add sections, build id');
  elf
    .command('info')
    .description('header, segments, sections, notes, load address and entry (readelf -h -l -S -n in one table)')
    .argument('<file>', 'ELF file (ELF32/ELF64, either byte order)')
    .option('--json', 'print the summary as JSON', false)
    .action(wrap(infoCommand, (_f, flags) => flags.json === true));
  elf
    .command('strip')
    .description(
      'remove debug sections and the symbol table (or debug only), optionally writing them to a separate debug file',
    )
    .argument('<in>', 'input ELF file')
    .option('-o, --output <file>', 'stripped output file (required; written atomically)')
    .option('--debug-only', 'remove only debug sections; keep .symtab (strip --strip-debug)', false)
    .option('--debug-file <file>', 'also write the debug file here and link it with .gnu_debuglink (default: none)')
    .option('--json', 'print the result as JSON', false)
    .action(wrap(stripCommand, (_i, flags) => flags.json === true));
  elf
    .command('objcopy')
    .description('extract the raw loadable image (objcopy -O binary) and print its load address')
    .argument('<in>', 'input ELF file (linked)')
    .option('-o, --output <file>', 'raw binary output (required; written atomically)')
    .option('--json', 'print the result as JSON', false)
    .action(wrap(objcopyCommand, (_i, flags) => flags.json === true));
  elf
    .command('add-section')
    .description('add a non-loaded section (manifest, signature, any blob); loadable bytes stay unchanged')
    .argument('<in>', 'input ELF file')
    .option('--name <name>', 'section name, e.g. .kiln.manifest (required)')
    .option('--file <file>', 'file holding the section contents (required)')
    .option('-o, --output <file>', 'output ELF file (required; written atomically)')
    .option('--replace', 'replace the section if it exists (in place when the size is the same)', false)
    .option('--align <n>', 'section alignment, a power of two (default 1)')
    .option('--type <type>', 'section type: progbits or note (default progbits)')
    .action(wrap(addSectionCommand, () => false));
  elf
    .command('build-id')
    .description('print the GNU build id, or set it (--set HEX or --set sha1)')
    .argument('<file>', 'ELF file')
    .option('--set <id>', 'new build id: hex bytes, or "sha1" to compute one from the file')
    .option('-o, --output <file>', 'write the result here instead of changing FILE in place')
    .option('--json', 'print the result as JSON', false)
    .action(wrap(buildIdCommand, (_f, flags) => flags.json === true));
}
