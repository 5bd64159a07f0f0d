/**
 * GNU build id. Spec: Linux Standard Base Core 5.0 §10.8 / binutils include/elf/common.h:
 * an SHT_NOTE section `.note.gnu.build-id` holding one note, owner "GNU", type NT_GNU_BUILD_ID (3),
 * descriptor = the id bytes (ld's --build-id=sha1 gives 20 bytes: SHA-1 over the output with the
 * descriptor zeroed). Note layout from gABI 4.1 chapter 5 § "Note Section".
 */
import { createHash } from 'node:crypto';
import { fromHex } from '../io/bytes.js';
import { NT_GNU_BUILD_ID, SHT_NOTE } from './_constants.js';
import { fail, parseInput, type ElfInput } from './_layout.js';
import { encodeNote } from './notes.js';
import type { ElfFile } from './read.js';
import { addSection } from './write.js';

/**
 * The GNU build id as lowercase hex, or undefined when the file has none.
 * @example readBuildId(bytes) // '3f2a…'
 */
export function readBuildId(elf: ElfInput): string | undefined {
  return parseInput(elf).buildId;
}

function buildIdNote(file: ElfFile) {
  return file.notes.find((n) => n.owner === 'GNU' && n.type === NT_GNU_BUILD_ID);
}

/**
 * Sets the GNU build id. An existing note of the same length is overwritten in place (every other
 * byte identical, so a loaded `.note.gnu.build-id` keeps working); without one, a non-allocated
 * `.note.gnu.build-id` section is added. `'sha1'` computes the id as ld does: SHA-1 over the whole
 * file with the descriptor zeroed (deterministic: the same input gives the same id).
 *
 * @example
 * const out = setBuildId(bytes, 'sha1');
 * const out2 = setBuildId(bytes, fromHex('0123456789abcdef0123456789abcdef01234567'));
 */
export function setBuildId(elf: ElfInput, id: Uint8Array | string | 'sha1'): Uint8Array {
  let file = parseInput(elf);
  let bytesId: Uint8Array | undefined;
  if (id === 'sha1') bytesId = undefined;
  else if (typeof id === 'string') bytesId = fromHex(id);
  else if (id instanceof Uint8Array) bytesId = id;
  else throw new TypeError('"id" expected bytes, a hex string or "sha1"');
  if (bytesId && (bytesId.length === 0 || bytesId.length > 64))
    throw new RangeError(`"id" expected 1..64 bytes, got ${bytesId.length}`);
  let note = buildIdNote(file);
  const length = bytesId?.length ?? (note ? note.desc.length : 20);
  if (note && note.desc.length !== length) {
    fail(
      'ELF_BUILD_ID_SIZE',
      `the file's build id is ${note.desc.length} bytes; the new one is ${length}`,
      `give an id of ${note.desc.length} bytes (or link with --build-id=sha1 for 20)`,
      note.descOffset,
    );
  }
  let out: Uint8Array;
  if (!note) {
    out = addSection(
      file,
      '.note.gnu.build-id',
      encodeNote('GNU', NT_GNU_BUILD_ID, new Uint8Array(length), file.littleEndian),
      { type: SHT_NOTE, align: 4 },
    );
    file = parseInput(out);
    note = buildIdNote(file)!;
  } else {
    out = file.bytes.slice();
    out.fill(0, note.descOffset, note.descOffset + length);
  }
  const value = bytesId ?? sha1Id(out, length);
  out.set(value, note.descOffset);
  return out;
}

/** SHA-1 of `bytes`, cut or repeated to `length` bytes (ld's ids are 8, 16 or 20 bytes). */
function sha1Id(bytes: Uint8Array, length: number): Uint8Array {
  const digest = new Uint8Array(createHash('sha1').update(bytes).digest());
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = digest[i % digest.length]!;
  return out;
}
