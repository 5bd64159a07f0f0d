/* Fixed-width types and a few helpers shared by every tinyc kernel file. */
#ifndef TINYC_TYPES_H
#define TINYC_TYPES_H

#include <stdint.h>
#include <stddef.h>

typedef int bool;
#define true 1
#define false 0

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#endif
