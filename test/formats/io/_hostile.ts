// Builders of hostile archives and images for the extraction and corpus tests: kiln's writers make a
// benign image with placeholder names, then the placeholders' bytes are patched into names the
// writers themselves refuse ('..', '/x'). The cpio builder writes headers directly.
import { closeSync, ftruncateSync, openSync, writeSync } from 'node:fs';
import {
  CPIO_HEADER_SIZE,
  S_IFDIR,
  S_IFLNK,
  S_IFREG,
  pad4,
  writeHeaderInto,
} from '../../../src/formats/cpio/_header.js';
import { writeFat } from '../../../src/formats/fat/index.js';
import { MemorySink } from '../../../src/formats/io/block-writer.js';
import { buildTree, type TreeSpec } from '../../../src/formats/io/tree.js';
import { planIso, writeIso } from '../../../src/formats/iso9660/index.js';
import { VDI_BLOCK_SIZE } from '../../../src/formats/vdi/_header.js';
import { layoutVdi, vdiMetadata } from '../../../src/formats/vdi/_layout.js';

export interface RawCpioEntry {
  name: string;
  kind: 'file' | 'dir' | 'symlink';
  /** File content or symlink target. */
  data?: string;
}

/** A newc archive built byte by byte, with names the writer itself would refuse. */
export function rawCpio(entries: RawCpioEntry[]): Uint8Array {
  const parts: Uint8Array[] = [];
  let offset = 0;
  const push = (name: string, mode: number, data: Uint8Array) => {
    const nameBytes = new TextEncoder().encode(`${name}\0`);
    const dataOffset = pad4(offset + CPIO_HEADER_SIZE + nameBytes.length);
    const end = pad4(dataOffset + data.length);
    const chunk = new Uint8Array(end - offset);
    writeHeaderInto(chunk, 0, '070701', {
      ino: parts.length + 1,
      mode,
      uid: 0,
      gid: 0,
      nlink: 1,
      mtime: 0,
      filesize: data.length,
      devMajor: 0,
      devMinor: 0,
      rdevMajor: 0,
      rdevMinor: 0,
      namesize: nameBytes.length,
      check: 0,
    });
    chunk.set(nameBytes, CPIO_HEADER_SIZE);
    chunk.set(data, dataOffset - offset);
    parts.push(chunk);
    offset = end;
  };
  for (const e of entries) {
    const mode = e.kind === 'dir' ? S_IFDIR | 0o755 : e.kind === 'symlink' ? S_IFLNK | 0o777 : S_IFREG | 0o644;
    push(e.name, mode, e.kind === 'dir' ? new Uint8Array(0) : new TextEncoder().encode(e.data ?? ''));
  }
  push('TRAILER!!!', 0, new Uint8Array(0));
  const out = new Uint8Array(offset);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export type Spec = TreeSpec;

/** A FAT volume (4 MiB FAT12 by default) holding `spec` (file names with mixed case get a VFAT long name). */
export async function fatImage(spec: Spec, size = 4 << 20, type: 12 | 16 | 32 = 12): Promise<Uint8Array> {
  const sink = new MemorySink(size);
  await writeFat(sink, buildTree(spec), { epoch: 1_700_000_000, type });
  return sink.bytes;
}

/** An ISO with Rock Ridge and Joliet holding `spec`. */
export async function isoImage(
  spec: Spec,
  options: { rockRidge?: boolean; joliet?: boolean } = {},
): Promise<Uint8Array> {
  const plan = await planIso(buildTree(spec), { epoch: 1_700_000_000, ...options });
  const sink = new MemorySink(plan.size);
  await writeIso(sink, plan);
  return sink.bytes;
}

/** Replaces every occurrence of `from` by `to` (same length); throws if there is none. */
export function patchAll(bytes: Uint8Array, from: Uint8Array, to: Uint8Array): Uint8Array {
  if (from.length !== to.length) throw new RangeError('patchAll: from and to differ in length');
  const out = new Uint8Array(bytes);
  let count = 0;
  for (let i = 0; i + from.length <= out.length; i++) {
    let match = true;
    for (let k = 0; k < from.length && match; k++) match = out[i + k] === from[k];
    if (match) {
      out.set(to, i);
      count++;
      i += from.length - 1;
    }
  }
  if (count === 0) throw new Error(`patchAll: ${JSON.stringify(new TextDecoder().decode(from))} not found`);
  return out;
}

const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);
const utf16le = (s: string): Uint8Array =>
  Uint8Array.from([...s].flatMap((c) => [c.charCodeAt(0) & 0xff, c.charCodeAt(0) >> 8]));
const utf16be = (s: string): Uint8Array =>
  Uint8Array.from([...s].flatMap((c) => [c.charCodeAt(0) >> 8, c.charCodeAt(0) & 0xff]));

/** Where a two-letter placeholder name `Qq`/`qq` is stored, per format and namespace, and how to rename it. */
export const rename = {
  /** The VFAT long name of a file called `Qq` (UTF-16LE, NUL-terminated). */
  fat: (image: Uint8Array, two: string) => patchAll(image, utf16le('Qq\0'), utf16le(`${two}\0`)),
  /** The Rock Ridge NM of a file called `qq`. */
  rockridge: (image: Uint8Array, two: string) => patchAll(image, ascii('qq'), ascii(two)),
  /** The Joliet name (UCS-2 big-endian) of a file called `qq`. */
  joliet: (image: Uint8Array, two: string) => patchAll(image, utf16be('qq'), utf16be(two)),
  /** The plain ISO9660 identifier (`QQ.;1`, and the path table) of a file called `qq`. */
  iso9660: (image: Uint8Array, two: string) => patchAll(image, ascii('QQ'), ascii(two)),
};

/**
 * A VDI image of a `diskSize`-byte disk storing only the 1 MiB blocks listed in `blocks` (each
 * filled with a byte derived from its index), written to `path`. Made from the layout code, so a
 * 1 TiB disk costs a 5 MiB file.
 */
export function sparseVdi(path: string, diskSize: number, blocks: number[]): void {
  const unit = VDI_BLOCK_SIZE;
  const units = Math.ceil(diskSize / unit);
  const nonZero = new Uint8Array(units);
  for (const b of blocks) nonZero[b] = 1;
  const plan = layoutVdi(
    { size: diskSize, unit, units, nonZero, nonZeroCount: blocks.length, fingerprint: new Uint8Array(32) },
    { seed: 'sparse' },
  );
  const fd = openSync(path, 'w');
  try {
    for (const [offset, bytes] of vdiMetadata(plan)) writeSync(fd, bytes, 0, bytes.length, offset);
    [...blocks]
      .sort((a, b) => a - b)
      .forEach((b, slot) => {
        const data = new Uint8Array(Math.min(unit, diskSize - b * unit)).fill(blockByte(b));
        writeSync(fd, data, 0, data.length, plan.header.offData + slot * unit);
      });
    ftruncateSync(fd, plan.fileSize);
  } finally {
    closeSync(fd);
  }
}

/** The byte block `b` of a `sparseVdi` disk is filled with (never 0). */
export const blockByte = (b: number): number => (b % 255) + 1;
