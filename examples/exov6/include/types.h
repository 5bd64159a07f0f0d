/* ExoV6 basic types (C17, freestanding). */
#ifndef EXOV6_TYPES_H
#define EXOV6_TYPES_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef uint64_t pde_t;
typedef uint32_t cap_id_t;

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#endif
