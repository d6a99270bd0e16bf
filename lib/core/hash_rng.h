/* Seeded, platform-independent randomness (splitmix64 finaliser): the phantom's and the
 * tracker studies' sequences are the same on every machine. Header-only (static inline), so a
 * test or benchmark that includes it needs no internal symbol. */
#ifndef VENSEG_CORE_HASH_RNG_H
#define VENSEG_CORE_HASH_RNG_H

#include <stdint.h>

static inline uint64_t vs_mix64(uint64_t z)
{
    z += 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static inline uint64_t vs_hash4(uint64_t seed, uint64_t a, uint64_t b, uint64_t c)
{
    return vs_mix64(vs_mix64(vs_mix64(vs_mix64(seed) ^ a) ^ b) ^ c);
}

/* A hash as a double in (0, 1). */
static inline double vs_unit(uint64_t h) { return ((h >> 11) + 0.5) * (1.0 / 9007199254740992.0); }

typedef struct vs_rng {
    uint64_t s;
} vs_rng;

/* The next draw in [lo, hi). */
static inline double vs_rng_uniform(vs_rng *r, double lo, double hi)
{
    r->s = vs_mix64(r->s);
    return lo + (hi - lo) * vs_unit(r->s);
}

#endif
