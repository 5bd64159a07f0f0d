/*
 * Known-answer self-test run by the kernel at boot: SHA3-256 and SHAKE128 against the FIPS 202
 * example values (NIST CSRC "SHA3-256 / SHAKE128 example values"), and the ML-KEM NTT against
 * schoolbook multiplication on polynomials drawn from SHAKE128 (FIPS 203 SampleNTT-style
 * rejection sampling of 12-bit values < q).
 */
#include "pqclean.h"

static int equal(const uint8_t *a, const uint8_t *b, size_t n) {
    uint8_t d = 0;
    for (size_t i = 0; i < n; i++) d |= a[i] ^ b[i];
    return d == 0;
}

static const uint8_t SHA3_256_ABC[32] = {
    0x3a, 0x98, 0x5d, 0xa7, 0x4f, 0xe2, 0x25, 0xb2, 0x04, 0x5c, 0x17, 0x2d, 0x6b, 0xd3, 0x90, 0xbd,
    0x85, 0x5f, 0x08, 0x6e, 0x3e, 0x9d, 0x52, 0x5b, 0x46, 0xbf, 0xe2, 0x45, 0x11, 0x43, 0x15, 0x32,
};
static const uint8_t SHA3_256_EMPTY[32] = {
    0xa7, 0xff, 0xc6, 0xf8, 0xbf, 0x1e, 0xd7, 0x66, 0x51, 0xc1, 0x47, 0x56, 0xa0, 0x61, 0xd6, 0x62,
    0xf5, 0x80, 0xff, 0x4d, 0xe4, 0x3b, 0x49, 0xfa, 0x82, 0xd8, 0x0a, 0x4b, 0x80, 0xf8, 0x43, 0x4a,
};
static const uint8_t SHAKE128_EMPTY_32[32] = {
    0x7f, 0x9c, 0x2b, 0xa4, 0xe8, 0x8f, 0x82, 0x7d, 0x61, 0x60, 0x45, 0x50, 0x76, 0x05, 0x85, 0x3e,
    0xd7, 0x3b, 0x80, 0x93, 0xf6, 0xef, 0xbc, 0x88, 0xeb, 0x1a, 0x6e, 0xac, 0xfa, 0x66, 0xef, 0x26,
};

/* Uniform polynomial from SHAKE128(seed || nonce) by rejection sampling (FIPS 203 Algorithm 7 style). */
static void sample_poly(uint16_t f[256], uint8_t nonce) {
    uint8_t seed[3] = { 'N', 'O', nonce };
    uint8_t buf[168 * 4];
    shake128(buf, sizeof buf, seed, sizeof seed);
    unsigned n = 0;
    for (size_t i = 0; i + 3 <= sizeof buf && n < 256; i += 3) {
        uint16_t d1 = (uint16_t)(buf[i] | ((buf[i + 1] & 0x0f) << 8));
        uint16_t d2 = (uint16_t)((buf[i + 1] >> 4) | (buf[i + 2] << 4));
        if (d1 < MLKEM_Q) f[n++] = d1;
        if (d2 < MLKEM_Q && n < 256) f[n++] = d2;
    }
    while (n < 256) f[n++] = 0;
}

uint32_t pqclean_selftest(void) {
    uint32_t ok = 0;
    uint8_t out[32];
    sha3_256(out, (const uint8_t *)"abc", 3);
    int sha_ok = equal(out, SHA3_256_ABC, 32);
    sha3_256(out, (const uint8_t *)"", 0);
    sha_ok &= equal(out, SHA3_256_EMPTY, 32);
    if (sha_ok) ok |= PQCLEAN_SHA3_OK;
    shake128(out, 32, (const uint8_t *)"", 0);
    if (equal(out, SHAKE128_EMPTY_32, 32)) ok |= PQCLEAN_SHAKE_OK;

    mlkem_init();
    static uint16_t f[256], g[256], fh[256], gh[256], h[256], ref[256];
    int ntt_ok = 1;
    for (uint8_t round = 0; round < 2; round++) {
        sample_poly(f, (uint8_t)(2 * round));
        sample_poly(g, (uint8_t)(2 * round + 1));
        for (int i = 0; i < 256; i++) { fh[i] = f[i]; gh[i] = g[i]; }
        mlkem_ntt(fh);
        mlkem_ntt(gh);
        mlkem_basemul(h, fh, gh);
        mlkem_invntt(h);
        mlkem_schoolbook(ref, f, g);
        for (int i = 0; i < 256; i++) ntt_ok &= h[i] == ref[i];
        mlkem_invntt(fh);
        for (int i = 0; i < 256; i++) ntt_ok &= fh[i] == f[i];
    }
    if (ntt_ok) ok |= PQCLEAN_MLKEM_NTT_OK;
    return ok;
}
