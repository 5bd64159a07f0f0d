// Process table: kernel threads with a kalloc'ed stack and a context that starts in proc_start.
#include "defs.h"
#include "memlayout.h"
#include "proc.h"
#include "spinlock.h"

static struct {
  struct spinlock lock;
  struct proc proc[NPROC];
  int nextpid;
} ptable;

static struct proc *current;
struct context *scheduler_context;

void procinit(void) {
  initlock(&ptable.lock, "ptable");
  ptable.nextpid = 1;
}

struct proc *proc_table(void) { return ptable.proc; }
struct proc *myproc(void) { return current; }
void setproc(struct proc *p) { current = p; }

static void proc_start(void) {
  struct proc *p = myproc();
  p->entry();
  proc_exit();
}

struct proc *allocproc(const char *name, void (*fn)(void)) {
  acquire(&ptable.lock);
  struct proc *p = ptable.proc;
  while (p < ptable.proc + NPROC && p->state != UNUSED) p++;
  if (p == ptable.proc + NPROC) {
    release(&ptable.lock);
    return 0;
  }
  p->state = EMBRYO;
  p->pid = ptable.nextpid++;
  release(&ptable.lock);
  safestrcpy(p->name, name, sizeof p->name);
  p->kstack = kalloc();
  if (!p->kstack) panic("allocproc: no stack");
  // The new context "returns" into proc_start on a fresh stack (16-byte aligned after the ret).
  uint8_t *sp = (uint8_t *)p->kstack + PGSIZE - 8;
  sp -= sizeof(struct context);
  p->context = (struct context *)sp;
  memset(p->context, 0, sizeof *p->context);
  p->context->rip = (uint64_t)(uintptr_t)proc_start;
  p->entry = fn;
  p->runs = 0;
  p->state = RUNNABLE;
  return p;
}

void yield(void) {
  struct proc *p = myproc();
  p->state = RUNNABLE;
  swtch(&p->context, scheduler_context);
}

void ksleep(void *chan) {
  struct proc *p = myproc();
  p->chan = chan;
  p->state = SLEEPING;
  swtch(&p->context, scheduler_context);
  p->chan = 0;
}

void wakeup(void *chan) {
  acquire(&ptable.lock);
  for (struct proc *p = ptable.proc; p < ptable.proc + NPROC; p++)
    if (p->state == SLEEPING && p->chan == chan) p->state = RUNNABLE;
  release(&ptable.lock);
}

void proc_exit(void) {
  struct proc *p = myproc();
  p->state = ZOMBIE;
  swtch(&p->context, scheduler_context);
  panic("zombie ran");
}
