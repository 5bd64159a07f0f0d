//! Port I/O, the IDT, the 8259 PIC and the 8253 PIT.
use core::arch::asm;

pub fn outb(port: u16, value: u8) {
    unsafe { asm!("out dx, al", in("dx") port, in("al") value, options(nomem, nostack, preserves_flags)) }
}

pub fn inb(port: u16) -> u8 {
    let value: u8;
    unsafe { asm!("in al, dx", out("al") value, in("dx") port, options(nomem, nostack, preserves_flags)) }
    value
}

#[derive(Clone, Copy)]
#[repr(C, packed)]
struct IdtEntry {
    offset_low: u16,
    selector: u16,
    ist: u8,
    attributes: u8,
    offset_mid: u16,
    offset_high: u32,
    reserved: u32,
}

impl IdtEntry {
    const EMPTY: IdtEntry = IdtEntry { offset_low: 0, selector: 0, ist: 0, attributes: 0, offset_mid: 0, offset_high: 0, reserved: 0 };

    fn interrupt_gate(handler: u64) -> IdtEntry {
        IdtEntry {
            offset_low: handler as u16,
            selector: 0x08, // stage 2's 64-bit code segment
            ist: 0,
            attributes: 0x8e, // present, DPL 0, interrupt gate
            offset_mid: (handler >> 16) as u16,
            offset_high: (handler >> 32) as u32,
            reserved: 0,
        }
    }
}

#[repr(C, packed)]
struct IdtPointer {
    limit: u16,
    base: u64,
}

static mut IDT: [IdtEntry; 256] = [IdtEntry::EMPTY; 256];

extern "C" {
    fn isr_timer();
    static isr_exception_table: [u64; 32];
}

pub const TIMER_VECTOR: usize = 32;

pub fn init_idt() -> u64 {
    unsafe {
        for (vector, handler) in isr_exception_table.iter().enumerate() {
            IDT[vector] = IdtEntry::interrupt_gate(*handler);
        }
        IDT[TIMER_VECTOR] = IdtEntry::interrupt_gate(isr_timer as usize as u64);
        let pointer = IdtPointer { limit: (core::mem::size_of::<[IdtEntry; 256]>() - 1) as u16, base: core::ptr::addr_of!(IDT) as u64 };
        asm!("lidt [{}]", in(reg) &pointer, options(readonly, nostack, preserves_flags));
        core::ptr::addr_of!(IDT) as u64
    }
}

/// Remaps the PICs to vectors 32..47 and unmasks only IRQ 0 (the timer).
pub fn init_pic() {
    outb(0x20, 0x11);
    outb(0xa0, 0x11);
    outb(0x21, 0x20);
    outb(0xa1, 0x28);
    outb(0x21, 0x04);
    outb(0xa1, 0x02);
    outb(0x21, 0x01);
    outb(0xa1, 0x01);
    outb(0x21, 0xfe);
    outb(0xa1, 0xff);
}

/// PIT channel 0, mode 3, at `hz`.
pub fn init_pit(hz: u32) {
    let divisor = 1_193_182 / hz;
    outb(0x43, 0x36);
    outb(0x40, divisor as u8);
    outb(0x40, (divisor >> 8) as u8);
}

pub fn enable_interrupts() {
    unsafe { asm!("sti", options(nomem, nostack)) }
}

pub fn halt() {
    unsafe { asm!("hlt", options(nomem, nostack)) }
}

/// QEMU isa-debug-exit (iobase 0xf4): QEMU exits with (code << 1) | 1.
pub fn exit_qemu(code: u8) -> ! {
    outb(0xf4, code);
    loop {
        unsafe { asm!("cli; hlt", options(nomem, nostack)) }
    }
}
