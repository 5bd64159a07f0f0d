// The freestanding C library subset the kernel and the compiler need (memset/memcpy are
// emitted by clang for struct copies even with -ffreestanding).
#include "defs.h"

void *memset(void *dst, int c, size_t n) {
  uint8_t *d = dst;
  while (n--) *d++ = (uint8_t)c;
  return dst;
}

void *memmove(void *dst, const void *src, size_t n) {
  uint8_t *d = dst;
  const uint8_t *s = src;
  if (s < d && s + n > d) {
    while (n--) d[n] = s[n];
  } else {
    while (n--) *d++ = *s++;
  }
  return dst;
}

void *memcpy(void *dst, const void *src, size_t n) { return memmove(dst, src, n); }

int memcmp(const void *a, const void *b, size_t n) {
  const uint8_t *x = a, *y = b;
  for (; n; n--, x++, y++)
    if (*x != *y) return *x - *y;
  return 0;
}

size_t strlen(const char *s) {
  size_t n = 0;
  while (s[n]) n++;
  return n;
}

int strncmp(const char *a, const char *b, size_t n) {
  for (; n && *a && *a == *b; n--, a++, b++)
    ;
  return n == 0 ? 0 : (uint8_t)*a - (uint8_t)*b;
}

void safestrcpy(char *dst, const char *src, size_t n) {
  if (n == 0) return;
  while (--n && (*dst++ = *src++))
    ;
  *dst = 0;
}
