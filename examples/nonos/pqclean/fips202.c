/*
 * SHA-3 / SHAKE (FIPS 202, "SHA-3 Standard: Permutation-Based Hash and Extendable-Output
 * Functions", §3 Keccak-p[1600,24], §4 sponge, §6.1 SHA3-256, §6.2 SHAKE128) in portable,
 * freestanding C for the NØNOS kernel: a stand-in for PQClean's common/fips202.c (the hash every
 * PQClean ML-KEM/ML-DSA implementation is built on).
 */
#include "pqclean.h"

static const uint64_t RC[24] = {
    0x0000000000000001ULL, 0x0000000000008082ULL, 0x800000000000808aULL, 0x8000000080008000ULL,
    0x000000000000808bULL, 0x0000000080000001ULL, 0x8000000080008081ULL, 0x8000000000008009ULL,
    0x000000000000008aULL, 0x0000000000000088ULL, 0x0000000080008009ULL, 0x000000008000000aULL,
    0x000000008000808bULL, 0x800000000000008bULL, 0x8000000000008089ULL, 0x8000000000008003ULL,
    0x8000000000008002ULL, 0x8000000000000080ULL, 0x000000000000800aULL, 0x800000008000000aULL,
    0x8000000080008081ULL, 0x8000000000008080ULL, 0x0000000080000001ULL, 0x8000000080008008ULL,
};
/* ρ offsets and π lane order (FIPS 202 §3.2.2, §3.2.3), in the order lanes are visited. */
static const unsigned ROT[24] = { 1, 3, 6, 10, 15, 21, 28, 36, 45, 55, 2, 14, 27, 41, 56, 8, 25, 43, 62, 18, 39, 61, 20, 44 };
static const unsigned PI[24] = { 10, 7, 11, 17, 18, 3, 5, 16, 8, 21, 24, 4, 15, 23, 19, 13, 12, 2, 20, 14, 22, 9, 6, 1 };

static uint64_t rotl(uint64_t x, unsigned n) { return (x << n) | (x >> (64 - n)); }

void keccak_f1600(uint64_t s[25]) {
    for (int round = 0; round < 24; round++) {
        uint64_t c[5], t;
        for (int x = 0; x < 5; x++) c[x] = s[x] ^ s[x + 5] ^ s[x + 10] ^ s[x + 15] ^ s[x + 20];
        for (int x = 0; x < 5; x++) {
            t = c[(x + 4) % 5] ^ rotl(c[(x + 1) % 5], 1);
            for (int y = 0; y < 25; y += 5) s[y + x] ^= t;
        }
        t = s[1];
        for (int i = 0; i < 24; i++) {
            uint64_t next = s[PI[i]];
            s[PI[i]] = rotl(t, ROT[i]);
            t = next;
        }
        for (int y = 0; y < 25; y += 5) {
            uint64_t row[5];
            for (int x = 0; x < 5; x++) row[x] = s[y + x];
            for (int x = 0; x < 5; x++) s[y + x] = row[x] ^ (~row[(x + 1) % 5] & row[(x + 2) % 5]);
        }
        s[0] ^= RC[round];
    }
}

/* Sponge: absorb `len` bytes with `rate`, pad with the domain byte, squeeze `outlen` bytes. */
static void sponge(uint8_t *out, size_t outlen, const uint8_t *in, size_t len, size_t rate, uint8_t domain) {
    uint64_t s[25];
    for (int i = 0; i < 25; i++) s[i] = 0;
    while (len >= rate) {
        for (size_t i = 0; i < rate; i++) s[i / 8] ^= (uint64_t)in[i] << (8 * (i % 8));
        keccak_f1600(s);
        in += rate;
        len -= rate;
    }
    for (size_t i = 0; i < len; i++) s[i / 8] ^= (uint64_t)in[i] << (8 * (i % 8));
    s[len / 8] ^= (uint64_t)domain << (8 * (len % 8));
    s[(rate - 1) / 8] ^= 0x80ULL << (8 * ((rate - 1) % 8));
    for (;;) {
        keccak_f1600(s);
        size_t n = outlen < rate ? outlen : rate;
        for (size_t i = 0; i < n; i++) out[i] = (uint8_t)(s[i / 8] >> (8 * (i % 8)));
        out += n;
        outlen -= n;
        if (outlen == 0) break;
    }
}

void sha3_256(uint8_t out[32], const uint8_t *in, size_t len) { sponge(out, 32, in, len, 136, 0x06); }
void shake128(uint8_t *out, size_t outlen, const uint8_t *in, size_t len) { sponge(out, outlen, in, len, 168, 0x1f); }
