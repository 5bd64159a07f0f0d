/* The NØNOS kernel's post-quantum C library (a PQClean stand-in): FIPS 202 and ML-KEM arithmetic. */
#ifndef NONOS_PQCLEAN_H
#define NONOS_PQCLEAN_H
#include <stddef.h>
#include <stdint.h>

#define MLKEM_Q 3329u

void keccak_f1600(uint64_t s[25]);
void sha3_256(uint8_t out[32], const uint8_t *in, size_t len);
void shake128(uint8_t *out, size_t outlen, const uint8_t *in, size_t len);

void mlkem_init(void);
uint16_t mlkem_zeta(unsigned i);
void mlkem_ntt(uint16_t f[256]);
void mlkem_invntt(uint16_t f[256]);
void mlkem_basemul(uint16_t h[256], const uint16_t f[256], const uint16_t g[256]);
void mlkem_schoolbook(uint16_t h[256], const uint16_t f[256], const uint16_t g[256]);

#define PQCLEAN_SHA3_OK 1u
#define PQCLEAN_SHAKE_OK 2u
#define PQCLEAN_MLKEM_NTT_OK 4u
#define PQCLEAN_ALL_OK 7u
/* Runs the known-answer tests; returns the PQCLEAN_*_OK bits that passed. */
uint32_t pqclean_selftest(void);
#endif
