// The first user program: greets through libos and exits.
#include "libos.h"

int main(void) {
  user_printf("init: hello from pid %d\n", getpid());
  return 0;
}

void _start(void) { exit_process(main()); }
