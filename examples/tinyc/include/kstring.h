/* The string and memory routines the kernel needs (no libc here). */
#ifndef TINYC_KSTRING_H
#define TINYC_KSTRING_H

#include "types.h"

size_t kstrlen(const char *s);
int kstrcmp(const char *a, const char *b);
int kstrncmp(const char *a, const char *b, size_t n);
void kstrlcpy(char *dst, const char *src, size_t size);
void *kmemset(void *dst, int value, size_t n);
void *kmemcpy(void *dst, const void *src, size_t n);

#endif
