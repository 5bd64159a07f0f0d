/* Process table (xv6 proc): kernel threads with their own stacks and saved contexts. */
#ifndef EXOV6_PROC_H
#define EXOV6_PROC_H
#include "types.h"

#define NPROC 8

/* Callee-saved registers of the x86_64 SysV ABI, saved by swtch. */
struct context {
  uint64_t r15, r14, r13, r12, rbx, rbp, rip;
};
_Static_assert(sizeof(struct context) == 7 * 8, "swtch.S pushes 7 registers");

enum procstate { UNUSED, EMBRYO, SLEEPING, RUNNABLE, RUNNING, ZOMBIE };

struct proc {
  int pid;
  enum procstate state;
  char name[16];
  void *kstack;
  struct context *context;
  void (*entry)(void);
  void *chan;
  int runs;
};

void swtch(struct context **old, struct context *new);
extern struct context *scheduler_context;
void proc_exit(void);
struct proc *proc_table(void);
void setproc(struct proc *p);
#endif
