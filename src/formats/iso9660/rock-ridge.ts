/**
 * System Use Sharing Protocol (SUSP 1.12, IEEE P1281: §5.1 CE, §5.3 SP, §5.5 ST, §5.5 ER) and the
 * Rock Ridge Interchange Protocol (RRIP 1.12, IEEE P1282: §4.1.1 PX, §4.1.2 PN, §4.1.3 SL,
 * §4.1.4 NM, §4.1.6 TF). Entries are built as byte arrays; the writer places them in directory
 * records and continuation areas; the reader parses them back (following CE chains, bounded).
 */
import { encodeUtf8, decodeUtf8, readU32 } from '../io/bytes.js';
import { writeRecordingDate, readRecordingDate, putU32Both as writeU32Both } from './_encode.js';

export const RRIP_ID = 'IEEE_P1282';
export const RRIP_DESCRIPTOR = 'THE IEEE P1282 PROTOCOL PROVIDES SUPPORT FOR POSIX FILE SYSTEM SEMANTICS.';
export const RRIP_SOURCE =
  'PLEASE CONTACT THE IEEE STANDARDS DEPARTMENT, PISCATAWAY, NJ, USA FOR THE P1282 SPECIFICATION.';

/** Length of a CE entry (SUSP 5.1). */
export const CE_LENGTH = 28;

function entry(sig: string, body: Uint8Array, version = 1): Uint8Array {
  const out = new Uint8Array(4 + body.length);
  out[0] = sig.charCodeAt(0);
  out[1] = sig.charCodeAt(1);
  out[2] = out.length;
  out[3] = version;
  out.set(body, 4);
  return out;
}

/** SUSP 5.3: the SP entry that opens the root's `.` record (check bytes BE EF, skip 0). */
export function spEntry(): Uint8Array {
  return entry('SP', new Uint8Array([0xbe, 0xef, 0]));
}

/** SUSP 5.5: the ER entry naming RRIP 1.12. */
export function erEntry(): Uint8Array {
  const id = encodeUtf8(RRIP_ID);
  const des = encodeUtf8(RRIP_DESCRIPTOR);
  const src = encodeUtf8(RRIP_SOURCE);
  const body = new Uint8Array(4 + id.length + des.length + src.length);
  body[0] = id.length;
  body[1] = des.length;
  body[2] = src.length;
  body[3] = 1; // extension version
  body.set(id, 4);
  body.set(des, 4 + id.length);
  body.set(src, 4 + id.length + des.length);
  return entry('ER', body);
}

/** SUSP 5.1: a CE entry pointing at a continuation area. */
export function ceEntry(block: number, offset: number, length: number): Uint8Array {
  const body = new Uint8Array(24);
  writeU32Both(body, 0, block);
  writeU32Both(body, 8, offset);
  writeU32Both(body, 16, length);
  return entry('CE', body);
}

/** RRIP 4.1.1: POSIX mode, links, uid, gid, serial number (RRIP 1.12 form, 44 bytes). */
export function pxEntry(mode: number, nlink: number, uid: number, gid: number, serial: number): Uint8Array {
  const body = new Uint8Array(40);
  writeU32Both(body, 0, mode);
  writeU32Both(body, 8, nlink);
  writeU32Both(body, 16, uid);
  writeU32Both(body, 24, gid);
  writeU32Both(body, 32, serial);
  return entry('PX', body);
}

/**
 * RRIP 4.1.2: device number, as the high and low 32 bits of a 64-bit dev_t in the glibc `makedev`
 * encoding (what xorriso and Linux read back).
 */
export function pnEntry(major: number, minor: number): Uint8Array {
  const high = ((major & 0xfffff000) | ((minor >>> 20) & 0xfff)) >>> 0;
  const low = (((major & 0xfff) << 8) | ((minor & 0xfff00) << 12) | (minor & 0xff)) >>> 0;
  const body = new Uint8Array(16);
  writeU32Both(body, 0, high);
  writeU32Both(body, 8, low);
  return entry('PN', body);
}

/** Decodes PN's high/low words back to major/minor (glibc `major()`/`minor()`). */
export function decodeDevice(high: number, low: number): { major: number; minor: number } {
  const major = ((high & 0xfffff000) | ((low >>> 8) & 0xfff)) >>> 0;
  const minor = (((high & 0xfff) << 20) | ((low >>> 12) & 0xfff00) | (low & 0xff)) >>> 0;
  return { major, minor };
}

/** RRIP 4.1.6: modify, access and attribute-change times, 7-byte form (flags 0x0E). */
const tfCache = new Map<number, Uint8Array>();

export function tfEntry(mtime: number): Uint8Array {
  const cached = tfCache.get(mtime);
  if (cached) return cached;
  const body = new Uint8Array(1 + 21);
  body[0] = 0x0e;
  writeRecordingDate(body, 1, mtime);
  writeRecordingDate(body, 8, mtime);
  writeRecordingDate(body, 15, mtime);
  const out = entry('TF', body);
  if (tfCache.size < 4096) tfCache.set(mtime, out);
  return out;
}

/** RRIP 4.1.4: the POSIX name, split over several NM entries (CONTINUE flag) when long. */
export function nmEntries(name: string): Uint8Array[] {
  const bytes = encodeUtf8(name);
  const out: Uint8Array[] = [];
  const MAX = 250;
  for (let at = 0; at < bytes.length || out.length === 0; at += MAX) {
    const part = bytes.subarray(at, Math.min(bytes.length, at + MAX));
    const more = at + MAX < bytes.length;
    const body = new Uint8Array(1 + part.length);
    body[0] = more ? 1 : 0;
    body.set(part, 1);
    out.push(entry('NM', body));
  }
  return out;
}

/** RRIP 4.1.3: a symbolic link's target as component records, split over SL entries when long. */
export function slEntries(target: string): Uint8Array[] {
  // Component records: [flags, len, content]. flags: 1 CONTINUE, 2 CURRENT, 4 PARENT, 8 ROOT.
  const components: Uint8Array[] = [];
  const parts = target.split('/');
  parts.forEach((part, i) => {
    if (i === 0 && part === '' && target.startsWith('/')) {
      components.push(new Uint8Array([8, 0]));
      return;
    }
    if (part === '' && i > 0) return; // repeated or trailing slashes
    if (part === '.') components.push(new Uint8Array([2, 0]));
    else if (part === '..') components.push(new Uint8Array([4, 0]));
    else {
      const bytes = encodeUtf8(part);
      for (let at = 0; at < bytes.length; at += 248) {
        const piece = bytes.subarray(at, Math.min(bytes.length, at + 248));
        const rec = new Uint8Array(2 + piece.length);
        rec[0] = at + 248 < bytes.length ? 1 : 0;
        rec[1] = piece.length;
        rec.set(piece, 2);
        components.push(rec);
      }
    }
  });
  // Pack component records into SL entries of at most 255 bytes (5 header bytes each).
  const out: Uint8Array[] = [];
  let current: Uint8Array[] = [];
  let size = 0;
  const flush = (more: boolean) => {
    const body = new Uint8Array(1 + size);
    body[0] = more ? 1 : 0;
    let at = 1;
    for (const c of current) {
      body.set(c, at);
      at += c.length;
    }
    out.push(entry('SL', body));
    current = [];
    size = 0;
  };
  for (const c of components) {
    if (size + c.length > 250) flush(true);
    current.push(c);
    size += c.length;
  }
  flush(false);
  return out;
}

/** Length of PX + TF (+ PN for a device) (+ one NM for a name of `nameLength` ASCII characters, `-1` for none). */
export function posixEntriesLength(device: boolean, nameLength: number): number {
  return 44 + 26 + (device ? 20 : 0) + (nameLength >= 0 ? 5 + nameLength : 0);
}

/**
 * Writes PX, TF, PN (when `major >= 0`) and NM (when `name` is not null) at `at` in `buf`: the same
 * bytes as pxEntry, tfEntry, pnEntry and nmEntries, without building an array per entry (the
 * writer serializes thousands of records straight into its output buffer). `name` must be ASCII
 * and at most 250 characters (one NM entry); returns the offset after the last entry.
 */
export function writePosixEntries(
  buf: Uint8Array,
  at: number,
  mode: number,
  nlink: number,
  uid: number,
  gid: number,
  serial: number,
  mtime: number,
  major: number,
  minor: number,
  name: string | null,
): number {
  let p = at;
  buf[p] = 0x50; // 'P'
  buf[p + 1] = 0x58; // 'X'
  buf[p + 2] = 44;
  buf[p + 3] = 1;
  writeU32Both(buf, p + 4, mode);
  writeU32Both(buf, p + 12, nlink);
  writeU32Both(buf, p + 20, uid);
  writeU32Both(buf, p + 28, gid);
  writeU32Both(buf, p + 36, serial);
  p += 44;
  const tf = tfEntry(mtime); // cached per time: one copy
  buf.set(tf, p);
  p += tf.length;
  if (major >= 0) {
    buf[p] = 0x50; // 'P'
    buf[p + 1] = 0x4e; // 'N'
    buf[p + 2] = 20;
    buf[p + 3] = 1;
    writeU32Both(buf, p + 4, ((major & 0xfffff000) | ((minor >>> 20) & 0xfff)) >>> 0);
    writeU32Both(buf, p + 12, (((major & 0xfff) << 8) | ((minor & 0xfff00) << 12) | (minor & 0xff)) >>> 0);
    p += 20;
  }
  if (name !== null) {
    buf[p] = 0x4e; // 'N'
    buf[p + 1] = 0x4d; // 'M'
    buf[p + 2] = 5 + name.length;
    buf[p + 3] = 1;
    buf[p + 4] = 0; // no CONTINUE
    p += 5;
    for (let i = 0; i < name.length; i++) buf[p++] = name.charCodeAt(i);
  }
  return p;
}

/** What the reader learns from a record's SUSP entries. */
export interface SuspInfo {
  hasSp?: boolean;
  spSkip?: number;
  rripId?: string;
  name?: string;
  mode?: number;
  nlink?: number;
  uid?: number;
  gid?: number;
  serial?: number;
  mtime?: number;
  symlink?: string;
  device?: { major: number; minor: number };
  /** A continuation area to read next. */
  continuation?: { block: number; offset: number; length: number };
  /** RRIP relocation entries (CL/PL/RE) seen. */
  relocated?: boolean;
}

/**
 * Parses SUSP entries in `area` into `info` (accumulating NM/SL pieces across calls).
 * Malformed entries end the parse (SUSP 4: a length < 4 or past the end terminates the area).
 */
export function parseSusp(
  area: Uint8Array,
  info: SuspInfo,
  state: { nm: string[]; nmDone: boolean; sl: string[]; slPending: string; slDone: boolean },
): void {
  let at = 0;
  info.continuation = undefined;
  while (at + 4 <= area.length) {
    const sig = String.fromCharCode(area[at]!, area[at + 1]!);
    const len = area[at + 2]!;
    if (len < 4 || at + len > area.length) break;
    const body = area.subarray(at + 4, at + len);
    switch (sig) {
      case 'SP':
        if (body.length >= 3 && body[0] === 0xbe && body[1] === 0xef) {
          info.hasSp = true;
          info.spSkip = body[2]!;
        }
        break;
      case 'ER':
        if (body.length >= 4 && 4 + body[0]! <= body.length) info.rripId = decodeUtf8(body.subarray(4, 4 + body[0]!));
        break;
      case 'CE':
        if (body.length >= 24)
          info.continuation = {
            block: readU32(body, 0, true),
            offset: readU32(body, 8, true),
            length: readU32(body, 16, true),
          };
        break;
      case 'ST':
        return;
      case 'PX':
        if (body.length >= 32) {
          info.mode = readU32(body, 0, true);
          info.nlink = readU32(body, 8, true);
          info.uid = readU32(body, 16, true);
          info.gid = readU32(body, 24, true);
          if (body.length >= 40) info.serial = readU32(body, 32, true);
        }
        break;
      case 'PN':
        if (body.length >= 16) info.device = decodeDevice(readU32(body, 0, true), readU32(body, 8, true));
        break;
      case 'TF': {
        if (body.length < 1) break;
        const flags = body[0]!;
        const size = flags & 0x80 ? 17 : 7;
        let p = 1;
        for (let bit = 0; bit < 7; bit++) {
          if (!(flags & (1 << bit))) continue;
          if (p + size > body.length) break;
          if (bit === 1 && size === 7) info.mtime = readRecordingDate(body, p);
          p += size;
        }
        break;
      }
      case 'NM':
        if (!state.nmDone && body.length >= 1) {
          const flags = body[0]!;
          if (flags & 2) state.nm.push('.');
          else if (flags & 4) state.nm.push('..');
          else state.nm.push(decodeUtf8(body.subarray(1)));
          if (!(flags & 1)) {
            state.nmDone = true;
            info.name = state.nm.join('');
          }
        }
        break;
      case 'SL':
        if (!state.slDone && body.length >= 1) {
          let p = 1;
          while (p + 2 <= body.length) {
            const cf = body[p]!;
            const cl = body[p + 1]!;
            if (p + 2 + cl > body.length) break;
            let text = '';
            if (cf & 8) text = '';
            else if (cf & 4) text = '..';
            else if (cf & 2) text = '.';
            else text = decodeUtf8(body.subarray(p + 2, p + 2 + cl));
            state.slPending += text;
            if (!(cf & 1)) {
              state.sl.push(cf & 8 ? '\0root' : state.slPending);
              state.slPending = '';
            }
            p += 2 + cl;
          }
          if (!(body[0]! & 1)) {
            state.slDone = true;
            const parts = state.sl;
            let target = parts.map((s) => (s === '\0root' ? '' : s)).join('/');
            if (parts.length === 1 && parts[0] === '\0root') target = '/';
            info.symlink = target;
          }
        }
        break;
      case 'CL':
      case 'PL':
      case 'RE':
        info.relocated = true;
        break;
      default:
        break;
    }
    at += len;
  }
}
