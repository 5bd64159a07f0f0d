/**
 * Partition type GUIDs (UEFI 2.10 §5.3.3 Table 5-7 "Defined GPT Partition Entry - Partition Type
 * GUIDs" for the ESP and legacy-MBR types; the others from the Discoverable Partitions
 * Specification (uapi-group.org) and the vendors that defined them) and partition attribute bits
 * (UEFI 2.10 §5.3.3 Table 5-8 "Defined GPT Partition Entry - Attributes").
 */
import type { Guid } from '../io/guid.js';

/**
 * Partition type GUIDs kiln knows by name (`esp`, `linux`, `bios-boot`, ...): use the name in a partition's
 * `type`.
 */
export const GPT_TYPES = {
  /** EFI System Partition (UEFI 2.10 Table 5-7). */
  esp: 'c12a7328-f81f-11d2-ba4b-00a0c93ec93b',
  /** Partition containing a legacy MBR (UEFI 2.10 Table 5-7). */
  'legacy-mbr': '024dee41-33e7-11d3-9d69-0008c781f39f',
  /** GRUB's BIOS boot partition (core.img on a GPT disk). */
  'bios-boot': '21686148-6449-6e6f-744e-656564454649',
  /** Linux filesystem data. */
  linux: '0fc63daf-8483-4772-8e79-3d69d8477de4',
  'linux-root-x86_64': '4f68bce3-e8cd-4db1-96e7-fbcaf984b709',
  'linux-root-aarch64': 'b921b045-1df0-41c3-af44-4c6f280d3fae',
  'linux-usr-x86_64': '8484680c-9521-48c6-9c11-b0720656f69e',
  'linux-swap': '0657fd6d-a4ab-43c4-84e5-0933c84b4f4f',
  'linux-home': '933ac7e1-2eb4-4f13-b844-0e14e2aef915',
  xbootldr: 'bc13c2ff-59e6-4262-a352-b275fd6f7172',
  /** Microsoft basic data (FAT/NTFS/exFAT data partitions). */
  'basic-data': 'ebd0a0a2-b9e5-4433-87c0-68b6b72699c7',
} as const satisfies Record<string, Guid>;
/** A partition type known by name (a key of {@link GPT_TYPES}). */
export type GptTypeName = keyof typeof GPT_TYPES;

const NAMES = new Map<string, string>(Object.entries(GPT_TYPES).map(([name, guid]) => [guid, name]));

/** Name of a known type GUID (`esp`, `linux`...), or undefined.
 * @example gptTypeName('c12a7328-f81f-11d2-ba4b-00a0c93ec93b') // 'esp'
 */
export function gptTypeName(guid: Guid): string | undefined {
  return NAMES.get(guid.toLowerCase());
}

/** Attribute bits by name (UEFI 2.10 Table 5-8). Bits 48-63 are type-specific (give them as numbers). */
export const GPT_ATTRIBUTES = {
  /** Bit 0: required for the platform to function. */
  required: 0,
  /** Bit 1: firmware must not produce an EFI_BLOCK_IO_PROTOCOL for it. */
  'no-block-io': 1,
  /** Bit 2: legacy BIOS bootable (used by some BIOS boot loaders). */
  'legacy-bios-bootable': 2,
} as const;
/** A partition attribute bit known by name (`required`, `legacy-bios-bootable`, ...). */
export type GptAttributeName = keyof typeof GPT_ATTRIBUTES;

/** Names of the set attribute bits (unknown bits as `bit N`).
 * @example attributeNames(5n) // ['required', 'legacy-bios-bootable']
 */
export function attributeNames(bits: bigint): string[] {
  const out: string[] = [];
  for (let i = 0; i < 64; i++) {
    if ((bits >> BigInt(i)) & 1n) {
      const name = Object.entries(GPT_ATTRIBUTES).find(([, b]) => b === i)?.[0];
      out.push(name ?? `bit ${i}`);
    }
  }
  return out;
}
