/**
 * Reader for fixed-LBA raw disks (the Portix layout): a raw disk has no directory of its own, so
 * the reader checks the boot sector (0x55AA at 510, UEFI 2.10 §5.2.1), lists its MBR partition
 * records (Table 5-2) when it has a valid table, and, given the region and patch map the disk was
 * built from, returns each region's SHA-256 and reads each patched value back.
 */
import { createHash } from 'node:crypto';
import { FormatError } from '../../errors.js';
import { type BlockSource, MemorySource } from '../io/block-source.js';
import { viewOf } from '../io/bytes.js';
import { type MbrInfo, parseMbrSector } from '../mbr/read.js';
import { RAW_SECTOR_SIZE, type RawPatchSpec } from './write.js';

/** A region of a raw disk as `readRaw` checks it: where it is and the hash of its bytes. */
export interface RawReadRegion {
  name: string;
  lba: number;
  /** Bytes to hash (the region's content size). */
  size: number;
}

/** A patched field of a raw disk as read back (region, offset, type, value). */
export interface RawReadPatch {
  region: string;
  /** Offset inside the region. */
  offset: number;
  type: RawPatchSpec['type'];
  endian?: 'le' | 'be';
}

/** A raw disk as read: boot signature, partition table, regions and patches checked. */
export interface RawInfo {
  size: number;
  /** Bytes 510-511 are 0x55 0xAA. */
  bootSignature: boolean;
  /** The MBR partition table, when sector 0 holds a valid one. */
  mbr?: MbrInfo;
  regions: Array<RawReadRegion & { sha256: string }>;
  patches: Array<RawReadPatch & { value: bigint }>;
}

/**
 * Inspects a raw disk; `map` (the regions and patches it was built with) is optional.
 * @example
 * const info = await readRaw(await FileSource.open('portix.img'), { regions: [{ name: 'kernel', lba: 65, size: 123456 }] });
 */
export async function readRaw(
  input: BlockSource | Uint8Array,
  map: { regions?: RawReadRegion[]; patches?: RawReadPatch[] } = {},
): Promise<RawInfo> {
  const source = input instanceof Uint8Array ? new MemorySource(input, 'raw') : input;
  if (source.size < RAW_SECTOR_SIZE)
    throw new FormatError('raw', 'RAW_TRUNCATED', `the image is ${source.size} bytes, less than one sector`, {
      offset: 0,
    });
  const sector0 = await source.read(0, RAW_SECTOR_SIZE);
  const bootSignature = sector0[510] === 0x55 && sector0[511] === 0xaa;
  let mbr: MbrInfo | undefined;
  if (bootSignature) {
    try {
      mbr = parseMbrSector(sector0, Math.floor(source.size / RAW_SECTOR_SIZE));
      mbr.size = source.size;
    } catch (error) {
      if (!(error instanceof FormatError)) throw error;
    }
  }
  const regions: RawInfo['regions'] = [];
  const where = new Map<string, RawReadRegion>();
  for (const r of map.regions ?? []) {
    where.set(r.name, r);
    const hash = createHash('sha256');
    for (let at = 0; at < r.size; at += 1 << 20)
      hash.update(await source.read(r.lba * RAW_SECTOR_SIZE + at, Math.min(1 << 20, r.size - at)));
    regions.push({ ...r, sha256: hash.digest('hex') });
  }
  const patches: RawInfo['patches'] = [];
  for (const p of map.patches ?? []) {
    const r = where.get(p.region);
    if (!r)
      throw new FormatError(
        'raw',
        'RAW_UNKNOWN_REGION',
        `patch names region ${JSON.stringify(p.region)}, which is not in the map`,
      );
    const width = { u8: 1, u16: 2, u32: 4, u64: 8 }[p.type];
    const bytes = await source.read(r.lba * RAW_SECTOR_SIZE + p.offset, width);
    const view = viewOf(bytes);
    const le = (p.endian ?? 'le') === 'le';
    const value =
      p.type === 'u8'
        ? BigInt(bytes[0]!)
        : p.type === 'u16'
          ? BigInt(view.getUint16(0, le))
          : p.type === 'u32'
            ? BigInt(view.getUint32(0, le))
            : view.getBigUint64(0, le);
    patches.push({ ...p, value });
  }
  return { size: source.size, bootSignature, ...(mbr ? { mbr } : {}), regions, patches };
}
