// errno is per thread (C11 _Thread_local), as the ExoV6 report's "modern C17" list says.
#include "libos.h"

_Thread_local int errno;
