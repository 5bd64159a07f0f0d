// Round-robin scheduler: switch to each RUNNABLE process until none is left; reap zombies.
#include "defs.h"
#include "proc.h"

int scheduler_run(void) {
  int switches = 0;
  for (;;) {
    bool any = false;
    for (struct proc *p = proc_table(); p < proc_table() + NPROC; p++) {
      if (p->state == ZOMBIE) {
        kfree(p->kstack);
        p->state = UNUSED;
        continue;
      }
      if (p->state != RUNNABLE) {
        any = any || p->state == SLEEPING;
        continue;
      }
      any = true;
      setproc(p);
      p->state = RUNNING;
      p->runs++;
      swtch(&scheduler_context, p->context);
      setproc(0);
      switches++;
    }
    if (!any) return switches;
  }
}
