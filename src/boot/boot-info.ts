/**
 * The record kiln-boot (loader/) hands to a kernel: defined once here as a kiln ABI schema, from
 * which the loader's own Zig module and the C, Rust and Zig headers kernels include are generated
 * (`kilnBootAbi()` step, or `generateAbi(BOOT_INFO_ABI)`).
 *
 * Every address is a physical address (the loader identity-maps them); every struct is laid out
 * the same on x86_64 and aarch64 (LP64, explicit padding).
 */
import { defineAbi } from '../abi/types.js';

/** `"KILNBOOT"` read as a little-endian u64: the first field of the record. */
export const BOOT_INFO_MAGIC = 0x544f4f424e4c494bn;
const MAGIC_LITERAL = '0x544f4f424e4c494b';
/** Bumped when a field changes meaning; new fields only go at the end (`size` grows). */
export const BOOT_INFO_VERSION = 1;

/**
 * The ELF note a kernel carries when its `e_entry` serves another boot protocol (say, multiboot2's
 * 32-bit entry for GRUB): name `"kiln-boot"`, type 1, an 8-byte descriptor holding the 64-bit
 * entry kiln-boot jumps to with the record (in a PT_NOTE segment or an SHT_NOTE section).
 */
export const KILN_BOOT_NOTE_NAME = 'kiln-boot';
export const KILN_BOOT_NOTE_ENTRY = 1;

/** The boot-info ABI schema (name `kiln_boot`: C `kiln_boot_info_t`, Rust/Zig `Info`, `KILN_BOOT_MAGIC`). */
export const BOOT_INFO_ABI = defineAbi({
  name: 'kiln_boot',
  version: '1.1.0',
  doc: 'kiln-boot hand-off record: the kernel entry receives its physical address (x86_64: rdi, aarch64: x0).',
  constants: {
    magic: { value: MAGIC_LITERAL, type: 'u64', doc: '"KILNBOOT" as a little-endian u64' },
    version: { value: BOOT_INFO_VERSION, type: 'u32', doc: 'layout version of info' },
    note_name: { value: KILN_BOOT_NOTE_NAME, type: 'string', doc: 'name of the ELF notes kiln-boot reads' },
    note_entry: {
      value: KILN_BOOT_NOTE_ENTRY,
      type: 'u32',
      doc: 'note type: an 8-byte descriptor (u64 LE), the virtual address kiln-boot jumps to instead of e_entry',
    },
  },
  enums: {
    memory_kind: {
      type: 'u32',
      doc: 'What a memory region may be used for once the kernel runs (from the UEFI memory type).',
      values: {
        usable: 0, // EfiConventionalMemory, boot services code/data (free after ExitBootServices)
        reserved: 1, // EfiReservedMemoryType, unusable, PAL code, persistent... (never touch)
        acpi_reclaimable: 2, // EfiACPIReclaimMemory: usable once the ACPI tables are read
        acpi_nvs: 3, // EfiACPIMemoryNVS
        mmio: 4, // EfiMemoryMappedIO, EfiMemoryMappedIOPortSpace
        runtime_services: 5, // EfiRuntimeServicesCode/Data: keep for UEFI runtime calls
        kernel: 6, // the kernel's PT_LOAD segments
        loader: 7, // initrd, boot info, memory map, page tables, stack (kernel's to reclaim when done)
      },
    },
    pixel_format: {
      type: 'u32',
      doc: 'GOP pixel format (UEFI 2.10 §12.9 EFI_GRAPHICS_PIXEL_FORMAT); none = no framebuffer.',
      values: { none: 0, rgbx_8bpc: 1, bgrx_8bpc: 2, bitmask: 3 },
    },
    serial_kind: {
      type: 'u32',
      doc: 'The serial port the loader wrote to (and the kernel may keep using).',
      values: { none: 0, pio_16550: 1, mmio_pl011: 2 },
    },
  },
  flags: {
    boot_flags: {
      width: 32,
      doc: 'What the loader did.',
      bits: { verified: 0, initrd_verified: 1, higher_half: 2, mmu_identity: 3, ml_dsa_verified: 4 },
    },
  },
  structs: {
    memory_region: {
      doc: 'One memory-map entry, sorted by base, merged nowhere (one per UEFI descriptor).',
      fields: [
        { name: 'base', type: 'u64' },
        { name: 'pages', type: 'u64', doc: '4 KiB pages' },
        { name: 'kind', type: 'memory_kind' },
        { name: 'uefi_type', type: 'u32', doc: 'the UEFI EFI_MEMORY_TYPE it came from' },
        { name: 'attributes', type: 'u64', doc: 'UEFI EFI_MEMORY_* attribute bits' },
      ],
    },
    framebuffer: {
      fields: [
        { name: 'base', type: 'u64' },
        { name: 'size', type: 'u64', doc: 'bytes' },
        { name: 'width', type: 'u32' },
        { name: 'height', type: 'u32' },
        { name: 'stride', type: 'u32', doc: 'pixels per scan line' },
        { name: 'format', type: 'pixel_format' },
        { name: 'red_mask', type: 'u32' },
        { name: 'green_mask', type: 'u32' },
        { name: 'blue_mask', type: 'u32' },
        { name: 'reserved_mask', type: 'u32' },
      ],
    },
    info: {
      doc: 'The boot-info record. Pointers are physical addresses carried as u64.',
      fields: [
        { name: 'magic', type: 'u64' },
        { name: 'version', type: 'u32' },
        { name: 'size', type: 'u32', doc: 'size of this record in bytes' },
        { name: 'flags', type: 'boot_flags' },
        { name: 'memory_map_entries', type: 'u32' },
        { name: 'memory_map', type: 'u64', doc: 'address of memory_map_entries memory_region records' },
        { name: 'initrd_base', type: 'u64', doc: '0 when no initrd' },
        { name: 'initrd_size', type: 'u64' },
        { name: 'cmdline', type: 'u64', doc: 'address of a NUL-terminated UTF-8 command line' },
        { name: 'cmdline_size', type: 'u64', doc: 'bytes, without the NUL' },
        { name: 'framebuffer', type: 'framebuffer', doc: 'format none when the firmware has no GOP' },
        { name: 'acpi_rsdp', type: 'u64', doc: 'ACPI RSDP (2.0 preferred, else 1.0); 0 when absent' },
        { name: 'device_tree', type: 'u64', doc: 'flattened device tree blob; 0 when absent' },
        { name: 'uefi_system_table', type: 'u64', doc: 'for runtime services (boot services are gone)' },
        { name: 'kernel_phys_base', type: 'u64', doc: 'lowest physical address of the PT_LOAD segments' },
        { name: 'kernel_phys_end', type: 'u64' },
        { name: 'load_bias', type: 'u64', doc: 'virtual minus physical address of the kernel (0 when identity)' },
        { name: 'entry', type: 'u64', doc: 'the virtual entry address jumped to' },
        { name: 'serial_kind', type: 'serial_kind' },
        { name: 'serial_reserved', type: 'u32' },
        { name: 'serial_base', type: 'u64', doc: 'I/O port (pio_16550) or MMIO address (mmio_pl011)' },
        { name: 'page_tables', type: 'u64', doc: 'x86_64: the PML4 loaded in CR3; aarch64: 0 (firmware tables kept)' },
        { name: 'stack_base', type: 'u64', doc: 'the stack the kernel starts on (stack_size bytes, grows down)' },
        { name: 'stack_size', type: 'u64' },
        { name: 'counter_hz', type: 'u64', doc: 'frequency of the counter below (TSC / CNTVCT_EL0); 0 if unknown' },
        {
          name: 'loader_ticks',
          type: 'u64',
          doc: "counter ticks from the loader's entry to the jump (calibration excluded)",
        },
        {
          name: 'exit_ticks',
          type: 'u64',
          doc: "of loader_ticks, the ticks spent inside the firmware's ExitBootServices()",
        },
      ],
    },
  },
});
