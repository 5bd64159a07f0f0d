/*
 * ML-KEM polynomial arithmetic (FIPS 203, "Module-Lattice-Based Key-Encapsulation Mechanism
 * Standard": §4.3 the number-theoretic transform, Algorithms 9 NTT, 10 NTT^-1, 11
 * MultiplyNTTs, 12 BaseCaseMultiply) over Z_q[X]/(X^256 + 1), q = 3329, ζ = 17: a stand-in for
 * PQClean's ml-kem-768/clean/{ntt,poly}.c, written with plain modular arithmetic (no Montgomery
 * form) so every step can be checked against schoolbook multiplication.
 */
#include "pqclean.h"

static uint16_t zetas[128];

static uint32_t mulq(uint32_t a, uint32_t b) { return (a * b) % MLKEM_Q; }

static uint32_t powq(uint32_t b, uint32_t e) {
    uint32_t r = 1;
    while (e) {
        if (e & 1) r = mulq(r, b);
        b = mulq(b, b);
        e >>= 1;
    }
    return r;
}

static unsigned bitrev7(unsigned i) {
    unsigned r = 0;
    for (int b = 0; b < 7; b++) r |= ((i >> b) & 1) << (6 - b);
    return r;
}

/* ζ^BitRev7(i) mod q (FIPS 203 §4.3, the table of Appendix A, computed rather than copied). */
void mlkem_init(void) {
    for (unsigned i = 0; i < 128; i++) zetas[i] = (uint16_t)powq(17, bitrev7(i));
}

uint16_t mlkem_zeta(unsigned i) { return zetas[i & 127]; }

/* Algorithm 9. */
void mlkem_ntt(uint16_t f[256]) {
    unsigned k = 1;
    for (unsigned len = 128; len >= 2; len >>= 1) {
        for (unsigned start = 0; start < 256; start += 2 * len) {
            uint32_t z = zetas[k++];
            for (unsigned j = start; j < start + len; j++) {
                uint32_t t = mulq(z, f[j + len]);
                f[j + len] = (uint16_t)((f[j] + MLKEM_Q - t) % MLKEM_Q);
                f[j] = (uint16_t)((f[j] + t) % MLKEM_Q);
            }
        }
    }
}

/* Algorithm 10 (with the final multiplication by 128^-1 = 3303). */
void mlkem_invntt(uint16_t f[256]) {
    unsigned k = 127;
    for (unsigned len = 2; len <= 128; len <<= 1) {
        for (unsigned start = 0; start < 256; start += 2 * len) {
            uint32_t z = zetas[k--];
            for (unsigned j = start; j < start + len; j++) {
                uint32_t t = f[j];
                f[j] = (uint16_t)((t + f[j + len]) % MLKEM_Q);
                f[j + len] = (uint16_t)mulq(z, (f[j + len] + MLKEM_Q - t) % MLKEM_Q);
            }
        }
    }
    for (unsigned j = 0; j < 256; j++) f[j] = (uint16_t)mulq(f[j], 3303);
}

/* Algorithms 11 and 12: h = f ∘ g in the NTT domain. */
void mlkem_basemul(uint16_t h[256], const uint16_t f[256], const uint16_t g[256]) {
    for (unsigned i = 0; i < 128; i++) {
        uint32_t gamma = powq(17, 2 * bitrev7(i) + 1);
        uint32_t a0 = f[2 * i], a1 = f[2 * i + 1], b0 = g[2 * i], b1 = g[2 * i + 1];
        h[2 * i] = (uint16_t)((mulq(a0, b0) + mulq(mulq(a1, b1), gamma)) % MLKEM_Q);
        h[2 * i + 1] = (uint16_t)((mulq(a0, b1) + mulq(a1, b0)) % MLKEM_Q);
    }
}

/* Schoolbook multiplication in Z_q[X]/(X^256 + 1), the reference the NTT path must match. */
void mlkem_schoolbook(uint16_t h[256], const uint16_t f[256], const uint16_t g[256]) {
    uint32_t acc[256];
    for (unsigned i = 0; i < 256; i++) acc[i] = 0;
    for (unsigned i = 0; i < 256; i++) {
        for (unsigned j = 0; j < 256; j++) {
            uint32_t p = mulq(f[i], g[j]);
            unsigned k = i + j;
            if (k < 256) acc[k] = (acc[k] + p) % MLKEM_Q;
            else acc[k - 256] = (acc[k - 256] + MLKEM_Q - p) % MLKEM_Q;
        }
    }
    for (unsigned i = 0; i < 256; i++) h[i] = (uint16_t)acc[i];
}
