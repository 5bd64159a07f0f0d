//! The few instructions that differ between x86_64 and aarch64: a cycle counter, halting, cache
//! maintenance after writing code, and the jump to the kernel.
const std = @import("std");
const builtin = @import("builtin");

pub const is_x86 = builtin.cpu.arch == .x86_64;

/// TSC (x86_64) or the virtual counter CNTVCT_EL0 (aarch64).
pub fn counter() u64 {
    if (is_x86) {
        var lo: u32 = undefined;
        var hi: u32 = undefined;
        asm volatile ("rdtsc"
            : [lo] "={eax}" (lo),
              [hi] "={edx}" (hi),
        );
        return (@as(u64, hi) << 32) | lo;
    }
    return asm volatile ("isb; mrs %[v], cntvct_el0"
        : [v] "=r" (-> u64),
    );
}

/// CNTFRQ_EL0 on aarch64; 0 on x86_64 (calibrated by the caller).
pub fn counterFrequency() u64 {
    if (is_x86) return 0;
    return asm volatile ("mrs %[v], cntfrq_el0"
        : [v] "=r" (-> u64),
    );
}

pub fn halt() noreturn {
    while (true) {
        if (is_x86) asm volatile ("cli; hlt") else asm volatile ("msr daifset, #0xf; wfi");
    }
}

/// Makes freshly written code visible to instruction fetch (aarch64: clean the data cache to the
/// point of unification, invalidate the instruction cache; x86_64 keeps them coherent).
pub fn syncInstructionCache(base: u64, len: u64) void {
    if (is_x86) return;
    const ctr = asm volatile ("mrs %[v], ctr_el0"
        : [v] "=r" (-> u64),
    );
    const line: u64 = @as(u64, 4) << @intCast((ctr >> 16) & 0xf);
    var a = base & ~(line - 1);
    while (a < base + len) : (a += line) asm volatile ("dc cvau, %[a]"
        :
        : [a] "r" (a),
        : "memory"
    );
    asm volatile ("dsb ish; ic iallu; dsb ish; isb" ::: "memory");
}

/// Interrupts off, (x86_64) CR3 = `page_tables`, stack = `stack_top`, first argument = `info`
/// (rdi / x0), then a jump to `entry`. Never returns.
pub fn enterKernel(entry: u64, info: u64, stack_top: u64, page_tables: u64) noreturn {
    if (is_x86) {
        asm volatile (
            \\cli
            \\mov %[pt], %%cr3
            \\mov %[sp], %%rsp
            \\xor %%ebp, %%ebp
            \\pushq $0
            \\jmp *%[entry]
            :
            : [pt] "r" (page_tables),
              [sp] "r" (stack_top),
              [entry] "r" (entry),
              [info] "{rdi}" (info),
            : "memory"
        );
    } else {
        asm volatile (
            \\msr daifset, #0xf
            \\mov sp, %[sp]
            \\mov x29, xzr
            \\mov x30, xzr
            \\br %[entry]
            :
            : [sp] "r" (stack_top),
              [entry] "r" (entry),
              [info] "{x0}" (info),
            : "memory"
        );
    }
    unreachable;
}
