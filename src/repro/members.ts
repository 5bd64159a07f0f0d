/**
 * Container formats seen as lists of members, so one comparison explains a difference inside a
 * CPIO archive, a FAT volume, an ISO9660 image or a partitioned disk the same way: which member
 * is only on one side, which member's metadata or bytes differ.
 */
import { DETECT_HEAD_BYTES, detectFormat } from '../formats/detect.js';
import { MemorySource } from '../formats/io/block-source.js';

/** One member of a container: a file in an archive or file system, or a partition of a disk. */
export interface Member {
  /** Path inside the container (`boot/grub/grub.cfg`, `partition 1 (EFI system)`). */
  path: string;
  kind: string;
  /** Metadata compared field by field (mode, uid, mtime, type GUID, ...). */
  meta: Record<string, string | number>;
  /** The member's bytes (files and partitions; undefined for directories and links). */
  read?: () => Promise<Uint8Array>;
}

/** A container kiln can open: its format name, container-level fields and members. */
export interface Container {
  format: string;
  fields: Record<string, string | number>;
  members: Member[];
}

/** The largest member read into memory for a nested comparison. */
const MAX_MEMBER_BYTES = 256 << 20;

export type ContainerFormat = 'cpio' | 'fat' | 'iso' | 'gpt' | 'mbr';

/** The container format of `bytes` (formats/detect.ts), or undefined for ELF files, raw data and disk images. */
export function containerFormat(bytes: Uint8Array): ContainerFormat | undefined {
  const format = detectFormat(bytes.subarray(0, DETECT_HEAD_BYTES));
  if (format === 'mbr') {
    // A boot sector without a partition table is not a container (Portix's stage 1).
    return [0, 1, 2, 3].some((i) => bytes[446 + i * 16 + 4] !== 0) ? 'mbr' : undefined;
  }
  return format === 'cpio' || format === 'fat' || format === 'iso' || format === 'gpt' ? format : undefined;
}

async function openCpio(bytes: Uint8Array): Promise<Container> {
  const { readCpio } = await import('../formats/cpio/index.js');
  const archive = await readCpio(bytes, { verifyChecksums: false });
  return {
    format: `cpio (${archive.format})`,
    fields: {},
    members: archive.entries.map((e) => ({
      path: e.path || '.',
      kind: e.kind,
      meta: {
        mode: `0${e.mode.toString(8)}`,
        uid: e.uid,
        gid: e.gid,
        mtime: e.mtime,
        ino: e.ino,
        nlink: e.nlink,
        ...(e.target ? { target: e.target } : {}),
      },
      ...(e.kind === 'file' ? { read: async () => bytes.slice(e.dataOffset, e.dataOffset + e.size) } : {}),
    })),
  };
}

/** The string and number fields of a record (what a comparison can print). */
function scalarFields(record: object): Record<string, string | number> {
  const fields: Record<string, string | number> = {};
  for (const [k, v] of Object.entries(record)) if (typeof v === 'string' || typeof v === 'number') fields[k] = v;
  return fields;
}

async function openFatContainer(bytes: Uint8Array): Promise<Container> {
  const { openFat } = await import('../formats/fat/index.js');
  const volume = await openFat(new MemorySource(bytes));
  const entries = await volume.list();
  const fields = scalarFields(volume.info);
  return {
    format: 'FAT',
    fields,
    members: entries.map((e) => ({
      path: e.path,
      kind: e.kind,
      meta: {
        shortName: e.shortName,
        attributes: e.attributes,
        mtime: e.mtime ?? 'invalid',
        firstCluster: e.firstCluster,
      },
      ...(e.kind === 'file' ? { read: () => volume.readFileBytes(e, MAX_MEMBER_BYTES) } : {}),
    })),
  };
}

async function openIsoContainer(bytes: Uint8Array): Promise<Container> {
  const { readIso, readIsoFileBytes } = await import('../formats/iso9660/index.js');
  const source = new MemorySource(bytes);
  const image = await readIso(source);
  return {
    format: `ISO9660 (${image.namespace} names)`,
    fields: {
      volumeId: image.volumeId,
      volumeSize: image.volumeSize,
      created: image.created ?? 'none',
      modified: image.modified ?? 'none',
    },
    members: image.entries.map((e) => ({
      path: e.path,
      kind: e.kind,
      meta: {
        mtime: e.mtime,
        ...(e.mode !== undefined ? { mode: `0${e.mode.toString(8)}` } : {}),
        ...(e.target ? { target: e.target } : {}),
        lba: e.extents[0]?.lba ?? 0,
      },
      ...(e.kind === 'file' ? { read: () => readIsoFileBytes(source, e) } : {}),
    })),
  };
}

function partitionReader(bytes: Uint8Array, start: number, size: number): (() => Promise<Uint8Array>) | undefined {
  if (size > MAX_MEMBER_BYTES || start + size > bytes.length) return undefined;
  return async () => bytes.subarray(start, start + size);
}

async function openGptContainer(bytes: Uint8Array): Promise<Container> {
  const { readGpt } = await import('../formats/gpt/index.js');
  const info = await readGpt(bytes);
  const fields: Record<string, string | number> = {
    diskGuid: String(info.diskGuid),
    firstUsableLba: info.firstUsableLba,
    lastUsableLba: info.lastUsableLba,
    entryCount: info.entryCount,
    entriesCrc: info.primary?.entriesCrc ?? 'none',
    headerCrc: info.primary?.headerCrc ?? 'none',
    usedHeader: info.usedHeader,
  };
  return {
    format: 'GPT disk',
    fields,
    members: info.partitions.map((p) => {
      const read = partitionReader(bytes, p.firstLba * 512, p.size);
      return {
        path: `partition ${p.index}${p.name ? ` "${p.name}"` : ''}`,
        kind: p.typeName ?? 'partition',
        meta: {
          type: String(p.typeGuid),
          guid: String(p.guid),
          firstLba: p.firstLba,
          lastLba: p.lastLba,
          attributes: String(p.attributes),
        },
        ...(read ? { read } : {}),
      };
    }),
  };
}

async function openMbrContainer(bytes: Uint8Array): Promise<Container> {
  const { readMbr } = await import('../formats/mbr/index.js');
  const info = await readMbr(bytes);
  return {
    format: 'MBR disk',
    fields: { diskSignature: `0x${info.diskSignature.toString(16).padStart(8, '0')}` },
    members: info.partitions.map((p) => {
      const read = partitionReader(bytes, p.startLba * 512, p.sectors * 512);
      return {
        path: `partition ${p.index}`,
        kind: p.typeName ?? `type 0x${p.type.toString(16)}`,
        meta: { type: p.type, bootable: String(p.bootable), startLba: p.startLba, sectors: p.sectors },
        ...(read ? { read } : {}),
      };
    }),
  };
}

const OPENERS: Record<ContainerFormat, (bytes: Uint8Array) => Promise<Container>> = {
  cpio: openCpio,
  fat: openFatContainer,
  iso: openIsoContainer,
  gpt: openGptContainer,
  mbr: openMbrContainer,
};

/** Opens `bytes` as a container, or undefined when it is none (or does not parse). */
export async function openContainer(bytes: Uint8Array): Promise<Container | undefined> {
  const format = containerFormat(bytes);
  if (!format) return undefined;
  try {
    return await OPENERS[format](bytes);
  } catch {
    return undefined;
  }
}
