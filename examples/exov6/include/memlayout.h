/* ExoV6 memory layout: the kernel runs at KERNBASE + physical address (higher half). */
#ifndef EXOV6_MEMLAYOUT_H
#define EXOV6_MEMLAYOUT_H

#define KERNBASE   0xFFFFFFFF80000000
#define KERNLINK   (KERNBASE + EXTMEM)  /* where the kernel's higher-half code is linked */
#define EXTMEM     0x100000             /* 1 MiB: start of extended memory, kernel load address */
#define PHYSTOP    0x2000000            /* 32 MiB: top of the memory kalloc manages */
#define KERNSIZE   (PHYSTOP - EXTMEM)
#define PGSIZE     4096
#define KSTACKSIZE (16 * 1024)

#ifndef __ASSEMBLER__
#include <stdint.h>
#define P2V(a) ((void *)((uintptr_t)(a) + KERNBASE))
#define V2P(a) ((uintptr_t)(a) - KERNBASE)
#endif

#endif
