/**
 * GPT reader and validator: UEFI Specification 2.10 §5.3.2 "GPT Header" validity checks (signature,
 * header CRC32, MyLBA, entry array CRC32; the backup header at AlternateLBA), §5.3.3 partition
 * entries, §5.2.3 protective MBR. Follows the spec's recovery rule: when the primary header is
 * invalid the backup at the last LBA is used (and reported). Problems that do not prevent listing
 * (backup damaged or different, no protective MBR, partitions overlapping or outside the usable
 * area) are collected in `problems`; `strict` turns the first one into a FormatError.
 */
import { FormatError } from '../../errors.js';
import { type BlockSource, MemorySource } from '../io/block-source.js';
import { ByteReader } from '../io/bytes.js';
import { crc32 } from '../io/crc32.js';
import { type Guid, guidFromBytes } from '../io/guid.js';
import { parseMbrSector } from '../mbr/read.js';
import { attributeNames, gptTypeName } from './_types.js';
import { GPT_HEADER_SIZE, GPT_SECTOR_SIZE } from './write.js';

function isZero16(bytes: Uint8Array, at: number): boolean {
  for (let i = 0; i < 16; i++) if (bytes[at + i] !== 0) return false;
  return true;
}
const asBuffer = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength);
/** Largest entry array kiln reads (bytes): 16384 entries of 128 bytes, or fewer larger ones. */
const MAX_ARRAY_BYTES = 2 << 20;

/** One used partition entry as read from a disk. */
export interface GptPartitionInfo {
  /** 1-based entry number. */
  index: number;
  typeGuid: Guid;
  /** `esp`, `linux`... when kiln knows the type. */
  typeName?: string;
  guid: Guid;
  name: string;
  firstLba: number;
  lastLba: number;
  /** Bytes. */
  size: number;
  attributes: bigint;
  attributeNames: string[];
}

/** One GPT header (primary or backup) as read, with whether its CRCs hold. */
export interface GptHeaderInfo {
  myLba: number;
  alternateLba: number;
  firstUsableLba: number;
  lastUsableLba: number;
  diskGuid: Guid;
  entriesLba: number;
  entryCount: number;
  entrySize: number;
  entriesCrc: number;
  headerCrc: number;
  headerSize: number;
  revision: number;
}

/** A GPT disk as read: geometry, the headers, the partitions and every problem found. */
export interface GptInfo {
  size: number;
  sectorSize: number;
  diskGuid: Guid;
  firstUsableLba: number;
  lastUsableLba: number;
  entryCount: number;
  entrySize: number;
  /** Which header the listing comes from (the primary, unless it is damaged). */
  usedHeader: 'primary' | 'backup';
  primary?: GptHeaderInfo;
  backup?: GptHeaderInfo;
  partitions: GptPartitionInfo[];
  /** Everything wrong that did not stop the listing. Empty for a healthy disk. */
  problems: string[];
}

/** Options of `readGpt`. */
export interface GptReadOptions {
  /** Throw on any problem, not only on a disk without a valid header. Default false. */
  strict?: boolean;
}

/** An error message without its `gpt: ` prefix. */
function bare(error: FormatError): string {
  return error.message.replace(/^gpt: /, '');
}

type HeaderResult = { ok: true; header: GptHeaderInfo; entries: Uint8Array } | { ok: false; error: FormatError };

async function readHeader(
  source: BlockSource,
  lba: number,
  totalSectors: number,
  expectMyLba: number,
): Promise<HeaderResult> {
  try {
    return await readHeaderUnchecked(source, lba, totalSectors, expectMyLba);
  } catch (error) {
    if (error instanceof FormatError) return { ok: false, error };
    throw error;
  }
}

async function readHeaderUnchecked(
  source: BlockSource,
  lba: number,
  totalSectors: number,
  expectMyLba: number,
): Promise<HeaderResult> {
  const offset = lba * GPT_SECTOR_SIZE;
  const fail = (code: string, message: string, at = offset): HeaderResult => ({
    ok: false,
    error: new FormatError('gpt', code, message, { offset: at }),
  });
  if (lba < 1 || lba >= totalSectors)
    return fail('GPT_BAD_HEADER', `header LBA ${lba} is outside the ${totalSectors}-sector disk`);
  const sector = await source.read(offset, GPT_SECTOR_SIZE);
  const r = new ByteReader(sector, 'gpt', { base: offset });
  if (r.ascii(8) !== 'EFI PART') return fail('GPT_NO_HEADER', `no "EFI PART" signature at LBA ${lba}`);
  const revision = r.u32(true);
  const headerSize = r.u32(true);
  const headerCrc = r.u32(true);
  if (headerSize < GPT_HEADER_SIZE || headerSize > GPT_SECTOR_SIZE)
    return fail(
      'GPT_BAD_HEADER',
      `header size ${headerSize} is outside ${GPT_HEADER_SIZE}..${GPT_SECTOR_SIZE}`,
      offset + 12,
    );
  const copy = sector.slice(0, headerSize);
  copy.fill(0, 16, 20);
  const actual = crc32(copy);
  if (actual !== headerCrc)
    return fail(
      'GPT_BAD_HEADER_CRC',
      `header CRC32 at LBA ${lba} is 0x${headerCrc.toString(16)}, computed 0x${actual.toString(16)}`,
      offset + 16,
    );
  r.skip(4);
  const myLba = r.u64(true, 'MyLBA');
  const alternateLba = r.u64(true, 'AlternateLBA');
  const firstUsableLba = r.u64(true, 'FirstUsableLBA');
  const lastUsableLba = r.u64(true, 'LastUsableLBA');
  const diskGuid = guidFromBytes(r.bytesView(16));
  const entriesLba = r.u64(true, 'PartitionEntryLBA');
  const entryCount = r.u32(true);
  const entrySize = r.u32(true);
  const entriesCrc = r.u32(true);
  const header: GptHeaderInfo = {
    myLba,
    alternateLba,
    firstUsableLba,
    lastUsableLba,
    diskGuid,
    entriesLba,
    entryCount,
    entrySize,
    entriesCrc,
    headerCrc,
    headerSize,
    revision,
  };
  if (myLba !== expectMyLba) return fail('GPT_BAD_HEADER', `header at LBA ${lba} says MyLBA = ${myLba}`, offset + 24);
  if (firstUsableLba > lastUsableLba || lastUsableLba >= totalSectors) {
    return fail(
      'GPT_BAD_HEADER',
      `usable LBAs ${firstUsableLba}..${lastUsableLba} do not fit the ${totalSectors}-sector disk`,
      offset + 40,
    );
  }
  if (entrySize < 128 || (entrySize & (entrySize - 1)) !== 0)
    return fail('GPT_BAD_HEADER', `entry size ${entrySize} is not 128 × 2^n`, offset + 84);
  const arrayBytes = entryCount * entrySize;
  if (entryCount === 0 || arrayBytes > MAX_ARRAY_BYTES)
    return fail(
      'GPT_BAD_HEADER',
      `entry array of ${entryCount} × ${entrySize} bytes is empty or larger than ${MAX_ARRAY_BYTES}`,
      offset + 80,
    );
  const arraySectors = Math.ceil(arrayBytes / GPT_SECTOR_SIZE);
  if (entriesLba < 1 || entriesLba + arraySectors > totalSectors)
    return fail('GPT_BAD_HEADER', `entry array at LBA ${entriesLba} runs past the disk`, offset + 72);
  if (entriesLba + arraySectors > firstUsableLba && entriesLba <= lastUsableLba) {
    return fail(
      'GPT_BAD_HEADER',
      `entry array at LBA ${entriesLba}..${entriesLba + arraySectors - 1} overlaps the usable area ${firstUsableLba}..${lastUsableLba}`,
      offset + 72,
    );
  }
  const entries = await source.read(entriesLba * GPT_SECTOR_SIZE, arrayBytes);
  const entriesActual = crc32(entries);
  if (entriesActual !== entriesCrc) {
    return fail(
      'GPT_BAD_ENTRIES_CRC',
      `entry array CRC32 is 0x${entriesActual.toString(16)}, the header at LBA ${lba} says 0x${entriesCrc.toString(16)}`,
      entriesLba * GPT_SECTOR_SIZE,
    );
  }
  return { ok: true, header, entries };
}

function parseEntries(entries: Uint8Array, header: GptHeaderInfo, problems: string[]): GptPartitionInfo[] {
  const out: GptPartitionInfo[] = [];
  const base = header.entriesLba * GPT_SECTOR_SIZE;
  for (let i = 0; i < header.entryCount; i++) {
    const at = i * header.entrySize;
    if (isZero16(entries, at)) continue;
    const typeGuid = guidFromBytes(entries, at);
    const r = new ByteReader(entries, 'gpt', { base, position: at + 32 });
    const firstBig = r.u64big(true, 'StartingLBA');
    const lastBig = r.u64big(true, 'EndingLBA');
    const attributes = r.u64big(true, 'Attributes');
    if (firstBig > BigInt(Number.MAX_SAFE_INTEGER) || lastBig > BigInt(Number.MAX_SAFE_INTEGER)) {
      problems.push(`partition ${i + 1} has LBAs ${firstBig}..${lastBig}, far past the end of the disk`);
      continue;
    }
    const firstLba = Number(firstBig);
    const lastLba = Number(lastBig);
    let name = '';
    for (let c = 0; c < 36; c++) {
      const unit = entries[at + 56 + 2 * c]! | (entries[at + 57 + 2 * c]! << 8);
      if (unit === 0) break;
      name += String.fromCharCode(unit);
    }
    const typeName = gptTypeName(typeGuid);
    const index = i + 1;
    if (lastLba < firstLba) {
      problems.push(`partition ${index} ends (LBA ${lastLba}) before it starts (LBA ${firstLba})`);
      continue;
    }
    if (firstLba < header.firstUsableLba || lastLba > header.lastUsableLba) {
      problems.push(
        `partition ${index} (LBA ${firstLba}..${lastLba}) is outside the usable area ${header.firstUsableLba}..${header.lastUsableLba}`,
      );
    }
    out.push({
      index,
      typeGuid,
      ...(typeName ? { typeName } : {}),
      guid: guidFromBytes(entries, at + 16),
      name,
      firstLba,
      lastLba,
      size: (lastLba - firstLba + 1) * GPT_SECTOR_SIZE,
      attributes,
      attributeNames: attributeNames(attributes),
    });
  }
  const sorted = [...out].sort((a, b) => a.firstLba - b.firstLba);
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i]!.firstLba <= sorted[i - 1]!.lastLba)
      problems.push(`partitions ${sorted[i - 1]!.index} and ${sorted[i]!.index} overlap`);
  }
  const guids = new Set<string>();
  for (const p of out) {
    if (guids.has(p.guid)) problems.push(`partition ${p.index} repeats unique GUID ${p.guid}`);
    guids.add(p.guid);
  }
  return out;
}

/**
 * Reads and validates a GPT disk: protective MBR, both headers and entry arrays with their CRC32s,
 * partition bounds and overlaps. Throws a FormatError when neither header is valid.
 * @example
 * const disk = await FileSource.open('disk.img');
 * const gpt = await readGpt(disk);
 * if (gpt.problems.length) console.warn(gpt.problems);
 * for (const p of gpt.partitions) console.log(p.index, p.typeName ?? p.typeGuid, p.name, p.size);
 */
export async function readGpt(input: BlockSource | Uint8Array, options: GptReadOptions = {}): Promise<GptInfo> {
  const source = input instanceof Uint8Array ? new MemorySource(input, 'gpt') : input;
  const totalSectors = Math.floor(source.size / GPT_SECTOR_SIZE);
  if (totalSectors < 3)
    throw new FormatError(
      'gpt',
      'GPT_TRUNCATED',
      `the image is ${source.size} bytes; a GPT disk needs at least 3 sectors`,
      { offset: 0 },
    );
  const problems: string[] = [];
  if (source.size % GPT_SECTOR_SIZE !== 0)
    problems.push(`the image size ${source.size} is not a multiple of ${GPT_SECTOR_SIZE}`);
  try {
    const mbr = parseMbrSector(await source.read(0, GPT_SECTOR_SIZE), totalSectors);
    const pmbr = mbr.partitions.find((p) => p.type === 0xee);
    if (!pmbr) problems.push('LBA 0 has no protective MBR record (type 0xEE)');
    else {
      if (pmbr.startLba !== 1) problems.push(`the protective MBR record starts at LBA ${pmbr.startLba}, not 1`);
      const expected = Math.min(totalSectors - 1, 0xffffffff);
      if (pmbr.sectors !== expected)
        problems.push(`the protective MBR record covers ${pmbr.sectors} sectors, expected ${expected}`);
      if (mbr.partitions.length > 1) problems.push('the MBR has records besides the protective one (a hybrid MBR)');
    }
  } catch (error) {
    if (!(error instanceof FormatError)) throw error;
    problems.push(`LBA 0 is not a protective MBR: ${error.message.replace(/^mbr: /, '')}`);
  }
  const primary = await readHeader(source, 1, totalSectors, 1);
  const backupLba = primary.ok ? primary.header.alternateLba : totalSectors - 1;
  const backup = await readHeader(source, backupLba, totalSectors, backupLba);
  let used: { header: GptHeaderInfo; entries: Uint8Array };
  let usedHeader: 'primary' | 'backup';
  if (primary.ok) {
    used = primary;
    usedHeader = 'primary';
    if (primary.header.alternateLba !== totalSectors - 1)
      problems.push(
        `the backup header is at LBA ${primary.header.alternateLba}, not at the last LBA ${totalSectors - 1}`,
      );
    if (!backup.ok) problems.push(`backup GPT: ${bare(backup.error)}`);
    else {
      const a = primary.header;
      const b = backup.header;
      if (b.alternateLba !== 1) problems.push(`the backup header's AlternateLBA is ${b.alternateLba}, not 1`);
      if (
        a.diskGuid !== b.diskGuid ||
        a.firstUsableLba !== b.firstUsableLba ||
        a.lastUsableLba !== b.lastUsableLba ||
        a.entryCount !== b.entryCount ||
        a.entrySize !== b.entrySize
      ) {
        problems.push('the backup header does not match the primary (disk GUID, usable LBAs or entry geometry)');
      } else if (!asBuffer(primary.entries).equals(asBuffer(backup.entries))) {
        problems.push('the backup entry array differs from the primary');
      }
      if (b.entriesLba <= a.lastUsableLba)
        problems.push(`the backup entry array (LBA ${b.entriesLba}) is inside the usable area`);
    }
  } else if (backup.ok) {
    used = backup;
    usedHeader = 'backup';
    problems.push(`primary GPT: ${bare(primary.error)}; listing from the backup`);
  } else {
    throw new FormatError(
      'gpt',
      primary.error.code.startsWith('GPT_') ? primary.error.code : 'GPT_BAD_HEADER',
      `no valid GPT header: ${bare(primary.error)}; backup: ${bare(backup.error)}`,
      {
        offset: primary.error.offset ?? GPT_SECTOR_SIZE,
        hint: 'this is not a GPT disk, or both headers are damaged',
      },
    );
  }
  const partitions = parseEntries(used.entries, used.header, problems);
  if (options.strict && problems.length > 0) {
    throw new FormatError('gpt', 'GPT_INVALID', problems[0]!, {
      offset: GPT_SECTOR_SIZE,
      hint: problems.length > 1 ? `and ${problems.length - 1} more problem(s)` : 'repair the disk (sgdisk -e / -v)',
    });
  }
  return {
    size: source.size,
    sectorSize: GPT_SECTOR_SIZE,
    diskGuid: used.header.diskGuid,
    firstUsableLba: used.header.firstUsableLba,
    lastUsableLba: used.header.lastUsableLba,
    entryCount: used.header.entryCount,
    entrySize: used.header.entrySize,
    usedHeader,
    ...(primary.ok ? { primary: primary.header } : {}),
    ...(backup.ok ? { backup: backup.header } : {}),
    partitions,
    problems,
  };
}
