/**
 * Which boot protocol QEMU's `-kernel` will use for a file, decided the way QEMU 7.2 decides it
 * (hw/i386/x86.c `x86_load_linux`, hw/i386/multiboot.c, hw/arm/boot.c):
 * x86: a Linux bzImage ("HdrS" at 0x202, Linux x86 boot protocol §1); else a multiboot v1 header
 * (Multiboot Specification 0.6.96 §3.1: magic 0x1BADB002 in the first 8192 bytes, 4-aligned,
 * flags bit 16 = a.out kludge address fields) — QEMU tries this first and refuses an ELF64;
 * else an ELF with a PVH note (Xen public/elfnote.h XEN_ELFNOTE_PHYS32_ENTRY = 18, owner "Xen",
 * in a PT_NOTE segment; ELF header and program header layout per the System V gABI §4.1 / §5.2).
 * aarch64: ELF (EM_AARCH64), a Linux arm64 Image ("ARM\x64" at 0x38), or raw bytes.
 * Only the ELF header, program headers and notes are read.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { KilnError } from '../errors.js';
import type { KernelInfo, QemuArch } from './types.js';

const MULTIBOOT1_MAGIC = 0x1badb002;
const MULTIBOOT2_MAGIC = 0xe85250d6;
const MULTIBOOT_AOUT_KLUDGE = 1 << 16;
const XEN_ELFNOTE_PHYS32_ENTRY = 18;
const PT_LOAD = 1;
const PT_NOTE = 4;
const EM_386 = 3;
const EM_X86_64 = 62;
const EM_AARCH64 = 183;

function readAt(fd: number, offset: number, length: number, fileSize: number): Uint8Array {
  const len = Math.max(0, Math.min(length, fileSize - offset));
  const buf = new Uint8Array(len);
  let done = 0;
  while (done < len) {
    const n = readSync(fd, buf, done, len - done, offset + done);
    if (n === 0) break;
    done += n;
  }
  return buf.subarray(0, done);
}

const hex = (n: number): string => `0x${n.toString(16)}`;

interface ElfView {
  cls: 32 | 64;
  le: boolean;
  machine: number;
  entry: number;
  pvhEntry: number | undefined;
  loadAddress: number | undefined;
}

function parseElf(path: string, fd: number, head: Uint8Array, size: number): ElfView {
  const bad = (message: string, offset: number): never => {
    throw new KilnError('KERNEL_BAD_ELF', `${message}`, {
      location: { file: path, offset },
      hint: 'check that the file is the linked kernel ELF (readelf -h shows its header)',
    });
  };
  if (head.length < 52) bad('ELF header truncated', 0);
  const cls = head[4] === 2 ? 64 : head[4] === 1 ? 32 : bad(`bad EI_CLASS ${head[4]}`, 4);
  const le = head[5] === 1 ? true : head[5] === 2 ? false : bad(`bad EI_DATA ${head[5]}`, 5);
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  if (cls === 64 && head.length < 64) bad('ELF64 header truncated', 0);
  const machine = view.getUint16(18, le);
  const u = (off: number, width: 4 | 8, v: DataView): number =>
    width === 4 ? v.getUint32(off, le) : Number(v.getBigUint64(off, le));
  const w = cls === 64 ? 8 : 4;
  const entry = u(24, w, view);
  const phoff = u(cls === 64 ? 32 : 28, w, view);
  const phentsize = view.getUint16(cls === 64 ? 54 : 42, le);
  const phnum = view.getUint16(cls === 64 ? 56 : 44, le);
  const minEnt = cls === 64 ? 56 : 32;
  let pvhEntry: number | undefined;
  let loadAddress: number | undefined;
  if (phnum > 0) {
    if (phentsize < minEnt) bad(`e_phentsize ${phentsize} < ${minEnt}`, cls === 64 ? 54 : 42);
    if (phnum > 4096 || phoff + phnum * phentsize > size)
      bad(`program headers (${phnum} at ${hex(phoff)}) run past the end of the file (${size} bytes)`, phoff);
    const table = readAt(fd, phoff, phnum * phentsize, size);
    const tv = new DataView(table.buffer, table.byteOffset, table.byteLength);
    for (let i = 0; i < phnum; i++) {
      const b = i * phentsize;
      const type = tv.getUint32(b, le);
      const offset = cls === 64 ? u(b + 8, 8, tv) : u(b + 4, 4, tv);
      const paddr = cls === 64 ? u(b + 24, 8, tv) : u(b + 12, 4, tv);
      const filesz = cls === 64 ? u(b + 32, 8, tv) : u(b + 16, 4, tv);
      if (type === PT_LOAD) loadAddress = loadAddress === undefined ? paddr : Math.min(loadAddress, paddr);
      if (type !== PT_NOTE) continue;
      if (offset + filesz > size || filesz > 1 << 20)
        bad(`PT_NOTE segment ${i} (${filesz} bytes at ${hex(offset)}) runs past the end of the file`, phoff + b);
      const notes = readAt(fd, offset, filesz, size);
      const nv = new DataView(notes.buffer, notes.byteOffset, notes.byteLength);
      let p = 0;
      while (p + 12 <= notes.length) {
        const namesz = nv.getUint32(p, le);
        const descsz = nv.getUint32(p + 4, le);
        const ntype = nv.getUint32(p + 8, le);
        if (namesz > notes.length || descsz > notes.length) break;
        const align4 = (n: number) => n + ((4 - (n % 4)) % 4);
        const nameStart = p + 12;
        const descStart = nameStart + align4(namesz);
        const next = descStart + align4(descsz);
        if (next > notes.length) break;
        const name = String.fromCharCode(...notes.subarray(nameStart, nameStart + namesz)).replace(/\0+$/, '');
        if (name === 'Xen' && ntype === XEN_ELFNOTE_PHYS32_ENTRY && (descsz === 4 || descsz === 8)) {
          pvhEntry = descsz === 4 ? nv.getUint32(descStart, le) : Number(nv.getBigUint64(descStart, le));
        }
        p = next;
      }
    }
  }
  return { cls, le, machine, entry, pvhEntry, loadAddress };
}

interface MultibootHeader {
  version: 1 | 2;
  offset: number;
  flags: number;
  entry?: number;
  loadAddress?: number;
}

/** Finds a multiboot v1 header (first 8192 bytes, 4-aligned, checksum valid) or a v2 one (32768, 8-aligned). */
function findMultiboot(head: Uint8Array): MultibootHeader | undefined {
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  for (let off = 0; off + 12 <= Math.min(head.length, 8192); off += 4) {
    if (view.getUint32(off, true) !== MULTIBOOT1_MAGIC) continue;
    const flags = view.getUint32(off + 4, true);
    const checksum = view.getUint32(off + 8, true);
    if ((MULTIBOOT1_MAGIC + flags + checksum) >>> 0 !== 0) continue;
    const header: MultibootHeader = { version: 1, offset: off, flags };
    if (flags & MULTIBOOT_AOUT_KLUDGE && off + 32 <= head.length) {
      header.loadAddress = view.getUint32(off + 16, true);
      header.entry = view.getUint32(off + 28, true);
    }
    return header;
  }
  for (let off = 0; off + 16 <= Math.min(head.length, 32768); off += 8) {
    if (view.getUint32(off, true) !== MULTIBOOT2_MAGIC) continue;
    const arch = view.getUint32(off + 4, true);
    const length = view.getUint32(off + 8, true);
    const checksum = view.getUint32(off + 12, true);
    if ((MULTIBOOT2_MAGIC + arch + length + checksum) >>> 0 !== 0) continue;
    return { version: 2, offset: off, flags: 0 };
  }
  return undefined;
}

/**
 * Inspects a kernel file and says which protocol QEMU's `-kernel` will boot it with, or throws a
 * KilnError explaining why QEMU would refuse it and how to fix it.
 * @example
 * const info = inspectKernel('build/kernel.elf', 'x86_64');
 * console.log(info.description); // "PVH ELF note (XEN_ELFNOTE_PHYS32_ENTRY), entry 0x100000"
 */
export function inspectKernel(path: string, arch: QemuArch): KernelInfo {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (error) {
    throw new KilnError('KERNEL_NOT_FOUND', `cannot open kernel: ${(error as Error).message}`, {
      location: { file: path },
      hint: 'build the kernel first, or check the --kernel path',
    });
  }
  try {
    const size = fstatSync(fd).size;
    const head = readAt(fd, 0, 32768, size);
    const isElf = head.length >= 4 && head[0] === 0x7f && head[1] === 0x45 && head[2] === 0x4c && head[3] === 0x46;
    const elf = isElf ? parseElf(path, fd, head, size) : undefined;
    const base = {
      path,
      arch,
      isElf,
      ...(elf
        ? {
            elfClass: elf.cls,
            entry: elf.entry,
            ...(elf.loadAddress !== undefined ? { loadAddress: elf.loadAddress } : {}),
          }
        : {}),
    };
    if (arch === 'aarch64') {
      if (elf) {
        if (elf.machine !== EM_AARCH64) throw wrongMachine(path, elf.machine, arch);
        return {
          ...base,
          protocol: 'elf',
          description: `ELF${elf.cls} aarch64, entry ${hex(elf.entry)} (QEMU loads its segments and starts it with the MMU off: at EL1 on virt, at EL3 on raspi3b)`,
        };
      }
      if (
        head.length >= 0x40 &&
        head[0x38] === 0x41 &&
        head[0x39] === 0x52 &&
        head[0x3a] === 0x4d &&
        head[0x3b] === 0x64
      ) {
        return {
          ...base,
          protocol: 'linux-image',
          description: 'Linux arm64 Image (boot protocol: Documentation/arch/arm64/booting.rst)',
        };
      }
      return {
        ...base,
        protocol: 'raw',
        description: 'raw binary (QEMU copies it to RAM base + 0x80000 and jumps there, as for an arm64 Image)',
      };
    }
    // x86_64: same order as QEMU's x86_load_linux.
    if (
      head.length >= 0x206 &&
      head[0x202] === 0x48 &&
      head[0x203] === 0x64 &&
      head[0x204] === 0x72 &&
      head[0x205] === 0x53
    ) {
      return { ...base, protocol: 'linux', description: 'Linux bzImage (x86 boot protocol)' };
    }
    if (elf && elf.machine !== EM_X86_64 && elf.machine !== EM_386) throw wrongMachine(path, elf.machine, arch);
    const mb = findMultiboot(head);
    if (mb?.version === 1) {
      if (mb.flags & MULTIBOOT_AOUT_KLUDGE) {
        return {
          ...base,
          protocol: 'multiboot-aout',
          ...(mb.entry !== undefined ? { bootEntry: mb.entry } : {}),
          description: `multiboot v1 header at ${hex(mb.offset)} with the a.out kludge (load ${hex(mb.loadAddress ?? 0)}, entry ${hex(mb.entry ?? 0)})`,
        };
      }
      if (!elf) {
        throw new KilnError(
          'KERNEL_MULTIBOOT_NOT_ELF',
          `multiboot v1 header at ${hex(mb.offset)} without the a.out kludge (flags bit 16), and the file is not an ELF: QEMU cannot know where to load it`,
          {
            location: { file: path, offset: mb.offset },
            hint: 'set flags bit 16 and fill header_addr/load_addr/load_end_addr/bss_end_addr/entry_addr, or link the kernel as an ELF32',
          },
        );
      }
      if (elf.cls === 64) {
        throw new KilnError(
          'KERNEL_MULTIBOOT_ELF64',
          `QEMU refuses to boot an ELF64 multiboot kernel with -kernel ("Cannot load x86-64 image, give a 32bit one")${elf.pvhEntry !== undefined ? '; the file also has a PVH note, but QEMU tries multiboot first and never reaches it' : ''}`,
          {
            location: { file: path, offset: mb.offset },
            hint: 'pick one: (1) add a PVH note (.note.Xen, type 18 XEN_ELFNOTE_PHYS32_ENTRY = your 32-bit entry) and drop the multiboot v1 header (a multiboot2 header for GRUB may stay); (2) convert a copy to ELF32: objcopy -O elf32-i386 kernel kernel32; (3) set the a.out kludge (flags bit 16 with the load addresses); or boot through GRUB from an ISO (--cdrom)',
          },
        );
      }
      return {
        ...base,
        protocol: 'multiboot-elf32',
        description: `multiboot v1 header at ${hex(mb.offset)}, ELF32 entry ${hex(elf.entry)}`,
      };
    }
    if (elf && elf.pvhEntry !== undefined) {
      return {
        ...base,
        protocol: 'pvh',
        bootEntry: elf.pvhEntry,
        description: `PVH ELF note (XEN_ELFNOTE_PHYS32_ENTRY), 32-bit entry ${hex(elf.pvhEntry)}`,
      };
    }
    if (mb?.version === 2) {
      throw new KilnError(
        'KERNEL_MULTIBOOT2_ONLY',
        `only a multiboot2 header (at ${hex(mb.offset)}): QEMU's -kernel does not speak multiboot2`,
        {
          location: { file: path, offset: mb.offset },
          hint: 'add a PVH note (.note.Xen, type 18 XEN_ELFNOTE_PHYS32_ENTRY = the 32-bit entry) beside the multiboot2 header, or boot through GRUB from an ISO (--cdrom)',
        },
      );
    }
    throw new KilnError(
      'KERNEL_NO_BOOT_PROTOCOL',
      elf
        ? `ELF${elf.cls} without a PVH note or a multiboot header: QEMU's -kernel cannot boot it`
        : "not an ELF, a bzImage or a multiboot image: QEMU's -kernel cannot boot it",
      {
        location: { file: path },
        hint: 'add a PVH note (.note.Xen, type 18 XEN_ELFNOTE_PHYS32_ENTRY) or a multiboot v1 header to an ELF32 kernel; or boot a disk image / ISO instead (--image, --cdrom)',
      },
    );
  } finally {
    closeSync(fd);
  }
}

function wrongMachine(path: string, machine: number, arch: QemuArch): KilnError {
  const names: Record<number, string> = {
    [EM_386]: 'i386',
    [EM_X86_64]: 'x86_64',
    [EM_AARCH64]: 'aarch64',
    40: 'arm',
    243: 'riscv',
  };
  return new KilnError(
    'KERNEL_WRONG_ARCH',
    `kernel is an ${names[machine] ?? `e_machine ${machine}`} ELF, but the machine is ${arch}`,
    {
      location: { file: path, offset: 18 },
      hint: `build the kernel for ${arch}, or pass --arch ${machine === EM_AARCH64 ? 'aarch64' : 'x86_64'}`,
    },
  );
}
