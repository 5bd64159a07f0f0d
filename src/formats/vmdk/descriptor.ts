/**
 * The VMDK text descriptor, per VMware "Virtual Disk Format 5.0" (The Descriptor File: Header,
 * Extent Descriptions, The Disk Database) with the DDB keys VMware, VirtualBox and QEMU write
 * (ddb.virtualHWVersion, ddb.geometry.*, ddb.adapterType, ddb.uuid, ddb.longContentID,
 * ddb.uuid.image/modification/parent/parentmodification as VirtualBox's VMDK.cpp names them).
 */
import { createHash } from 'node:crypto';
import { FormatError } from '../../errors.js';
import { deriveGuid, type Guid } from '../io/guid.js';

/** The values kiln writes into a descriptor. */
export interface VmdkDescriptorFields {
  /** Content ID, 32-bit. */
  cid: number;
  createType: 'monolithicSparse' | 'streamOptimized';
  /** Capacity in 512-byte sectors. */
  capacity: number;
  /** File name on the extent line (the image file itself for monolithic images). */
  fileName: string;
  uuid: Guid;
  /** VirtualBox's ddb.uuid.modification (derived too, so it is never nil). */
  modificationUuid?: Guid;
  longContentId: string;
  /** Cylinders / heads / sectors for ddb.geometry.*. */
  geometry: { cylinders: number; heads: number; sectors: number };
  adapterType?: 'ide' | 'lsilogic' | 'buslogic' | 'legacyESX';
  hwVersion?: string;
}

/**
 * VMware's ddb.uuid form: 16 bytes as hex pairs, a dash between the 8th and 9th.
 * @example vmwareUuid('60002c93-8e3c-396f-6e9d-0d2b211e12d6') // '60 00 2c 93 8e 3c 39 6f-6e 9d 0d 2b 21 1e 12 d6'
 */
export function vmwareUuid(guid: Guid): string {
  const hex = guid.replace(/-/g, '');
  const pairs = hex.match(/../g)!;
  return `${pairs.slice(0, 8).join(' ')}-${pairs.slice(8).join(' ')}`;
}

/**
 * IDE geometry as QEMU and VMware write it: 16 heads (255 for SCSI), 63 sectors, cylinders capped at 16383.
 * @example vmdkGeometry(327680) // { cylinders: 325, heads: 16, sectors: 63 }
 */
export function vmdkGeometry(
  capacity: number,
  adapterType: VmdkDescriptorFields['adapterType'] = 'ide',
): { cylinders: number; heads: number; sectors: number } {
  const heads = adapterType === 'ide' ? 16 : 255;
  return { cylinders: Math.min(16383, Math.floor(capacity / (heads * 63))), heads, sectors: 63 };
}

/**
 * Derives the descriptor's identity (CID, uuid, longContentID) from a seed.
 * @example deriveVmdkIds('vmdk:…').cid
 */
export function deriveVmdkIds(seed: string): {
  cid: number;
  uuid: Guid;
  modificationUuid: Guid;
  longContentId: string;
} {
  const h = createHash('sha256').update('kiln-vmdk\0').update(seed).digest();
  let cid = h.readUInt32LE(0);
  // ffffffff means "no parent" in parentCID and fffffffe is VMware's "unset": avoid both.
  if (cid >= 0xfffffffe) cid = 0x7fffffff;
  return {
    cid,
    uuid: deriveGuid(seed, 'vmdk/uuid'),
    modificationUuid: deriveGuid(seed, 'vmdk/uuid-modification'),
    longContentId: h.subarray(4, 20).toString('hex'),
  };
}

/**
 * Formats the descriptor text.
 * @example
 * buildDescriptor({ cid: 0x1234abcd, createType: 'monolithicSparse', capacity: 2048, fileName: 'disk.vmdk', ... })
 */
export function buildDescriptor(f: VmdkDescriptorFields): string {
  if (/["\n\r\0]/.test(f.fileName) || f.fileName === '')
    throw new RangeError(
      `"fileName" expected a non-empty name without quotes or newlines, got ${JSON.stringify(f.fileName)}`,
    );
  const nil = '00000000-0000-0000-0000-000000000000';
  return [
    '# Disk DescriptorFile',
    'version=1',
    'encoding="UTF-8"',
    `CID=${f.cid.toString(16).padStart(8, '0')}`,
    'parentCID=ffffffff',
    `createType="${f.createType}"`,
    '',
    '# Extent description',
    `RW ${f.capacity} SPARSE "${f.fileName}"`,
    '',
    '# The Disk Data Base',
    '#DDB',
    '',
    `ddb.virtualHWVersion = "${f.hwVersion ?? '4'}"`,
    `ddb.geometry.cylinders = "${f.geometry.cylinders}"`,
    `ddb.geometry.heads = "${f.geometry.heads}"`,
    `ddb.geometry.sectors = "${f.geometry.sectors}"`,
    `ddb.adapterType = "${f.adapterType ?? 'ide'}"`,
    `ddb.uuid = "${vmwareUuid(f.uuid)}"`,
    `ddb.longContentID = "${f.longContentId}"`,
    `ddb.uuid.image = "${f.uuid}"`,
    `ddb.uuid.modification = "${f.modificationUuid ?? nil}"`,
    `ddb.uuid.parent = "${nil}"`,
    `ddb.uuid.parentmodification = "${nil}"`,
    'ddb.toolsVersion = "2147483647"',
    '',
  ].join('\n');
}

/** A parsed descriptor: header keys, extent lines and DDB entries. */
export interface VmdkDescriptor {
  version?: string;
  cid?: number;
  parentCid?: number;
  createType?: string;
  parentFileNameHint?: string;
  extents: Array<{ access: string; sectors: number; type: string; fileName: string; offset?: number }>;
  ddb: Record<string, string>;
}

/**
 * Parses descriptor text (lenient about spacing and comments, strict about what it keeps).
 * @example parseDescriptor(text).createType // 'monolithicSparse'
 */
export function parseDescriptor(text: string, offset = 0): VmdkDescriptor {
  const out: VmdkDescriptor = { extents: [], ddb: {} };
  const unquote = (v: string): string => v.trim().replace(/^"(.*)"$/, '$1');
  for (const rawLine of text.split(/\r?\n/)) {
    const line = rawLine.trim();
    if (line === '' || line.startsWith('#')) continue;
    const extent = /^(RW|RDONLY|NOACCESS)\s+(\d+)\s+(\w+)\s+"([^"]*)"(?:\s+(\d+))?\s*$/.exec(line);
    if (extent) {
      const sectors = Number(extent[2]);
      if (!Number.isSafeInteger(sectors))
        throw new FormatError('vmdk', 'VMDK_BAD_DESCRIPTOR', `extent size ${extent[2]} is too large`, { offset });
      out.extents.push({
        access: extent[1]!,
        sectors,
        type: extent[3]!,
        fileName: extent[4]!,
        ...(extent[5] ? { offset: Number(extent[5]) } : {}),
      });
      continue;
    }
    const eq = line.indexOf('=');
    if (eq < 0) continue;
    const key = line.slice(0, eq).trim();
    const value = unquote(line.slice(eq + 1));
    if (key.startsWith('ddb.')) out.ddb[key] = value;
    else if (key === 'version') out.version = value;
    else if (key === 'CID' && /^[0-9a-fA-F]{1,8}$/.test(value)) out.cid = parseInt(value, 16);
    else if (key === 'parentCID' && /^[0-9a-fA-F]{1,8}$/.test(value)) out.parentCid = parseInt(value, 16);
    else if (key === 'createType') out.createType = value;
    else if (key === 'parentFileNameHint') out.parentFileNameHint = value;
  }
  return out;
}
