/**
 * Makes a PE image (kiln-boot's EFI application, linked by lld-link through Zig) the same from one
 * build to the next: lld-link writes the link time into the COFF header's TimeDateStamp and into each
 * debug directory entry, and a random GUID into the CodeView record that names the .pdb (measured:
 * three builds of one loader, three files, 12 bytes apart). This writes `epoch` as both timestamps and,
 * as the GUID, the first 16 bytes of the SHA-256 of the image with those fields cleared (so the same
 * code gives the same GUID, as lld-link's own /Brepro does). PE/COFF spec: "COFF File Header",
 * "Optional Header Data Directories" (entry 6, Debug), "The .debug Section" (Debug Directory, CodeView).
 * The image's checksum field is left alone when it is 0 (EFI images); a non-zero one is refused.
 */
import { createHash } from 'node:crypto';

/** What `reproduciblePe` changed, for the step's log. */
export interface PePatch {
  /** Timestamps set (the COFF header's and one per debug directory entry). */
  readonly timestamps: number;
  /** CodeView GUIDs replaced. */
  readonly guids: number;
}

const PE_SIGNATURE = 0x00004550; // "PE\0\0"
const DEBUG_ENTRY = 28;
const CODEVIEW = 2;
const RSDS = 0x53445352; // "RSDS"

/** The file offset of `rva`, from the section table; undefined when no section holds it. */
function fileOffset(view: DataView, sectionTable: number, sections: number, rva: number): number | undefined {
  for (let i = 0; i < sections; i++) {
    const s = sectionTable + i * 40;
    const virtualSize = view.getUint32(s + 8, true);
    const address = view.getUint32(s + 12, true);
    const rawSize = view.getUint32(s + 16, true);
    const raw = view.getUint32(s + 20, true);
    if (rva >= address && rva < address + Math.max(virtualSize, rawSize)) return raw + (rva - address);
  }
  return undefined;
}

/**
 * Rewrites the link timestamps and the CodeView GUID of the PE image `bytes` in place (see above).
 * Throws a TypeError on an image that is not PE32+/PE32 with a zero checksum.
 * @example const patch = reproduciblePe(bytes, 315532800) // { timestamps: 2, guids: 1 }
 */
export function reproduciblePe(bytes: Uint8Array, epoch: number): PePatch {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const pe = view.getUint32(0x3c, true);
  if (view.getUint16(0, true) !== 0x5a4d || view.getUint32(pe, true) !== PE_SIGNATURE)
    throw new TypeError('not a PE image (no MZ header or PE signature)');
  const sections = view.getUint16(pe + 6, true);
  const optional = pe + 24;
  const magic = view.getUint16(optional, true);
  if (magic !== 0x20b && magic !== 0x10b)
    throw new TypeError(`unknown PE optional header magic 0x${magic.toString(16)}`);
  if (view.getUint32(optional + 64, true) !== 0) throw new TypeError('the PE image has a checksum: not rewritten');
  const directories = optional + (magic === 0x20b ? 112 : 96);
  const sectionTable = optional + view.getUint16(pe + 20, true);
  const timestamps = [pe + 8];
  const guids: number[] = [];
  const debugRva = view.getUint32(directories + 6 * 8, true);
  const debugSize = view.getUint32(directories + 6 * 8 + 4, true);
  const debug = debugRva ? fileOffset(view, sectionTable, sections, debugRva) : undefined;
  if (debug !== undefined) {
    for (let e = debug; e + DEBUG_ENTRY <= debug + debugSize; e += DEBUG_ENTRY) {
      timestamps.push(e + 4);
      const data = view.getUint32(e + 24, true);
      if (view.getUint32(e + 12, true) === CODEVIEW && data + 20 <= bytes.length && view.getUint32(data, true) === RSDS)
        guids.push(data + 4);
    }
  }
  for (const at of timestamps) view.setUint32(at, 0, true);
  for (const at of guids) bytes.fill(0, at, at + 16);
  const guid = createHash('sha256').update(bytes).digest().subarray(0, 16);
  for (const at of timestamps) view.setUint32(at, epoch >>> 0, true);
  for (const at of guids) bytes.set(guid, at);
  return { timestamps: timestamps.length, guids: guids.length };
}
