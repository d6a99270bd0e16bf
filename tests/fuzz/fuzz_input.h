/* Reads typed values off the front of a fuzz input; past its end every value is 0, so
 * any byte string is a valid input. Shared by the fuzz targets in tests/fuzz. */
#ifndef VENSEG_FUZZ_INPUT_H
#define VENSEG_FUZZ_INPUT_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct fuzz_input {
    const uint8_t *data;
    size_t size, pos;
} fuzz_input;

static inline uint32_t fuzz_bytes(fuzz_input *in, int n)
{
    uint32_t v = 0;
    for (int i = 0; i < n; i++) v |= (uint32_t)(in->pos < in->size ? in->data[in->pos++] : 0) << (8 * i);
    return v;
}

static inline uint8_t fuzz_u8(fuzz_input *in) { return (uint8_t)fuzz_bytes(in, 1); }
static inline uint16_t fuzz_u16(fuzz_input *in) { return (uint16_t)fuzz_bytes(in, 2); }
static inline int fuzz_bool(fuzz_input *in) { return fuzz_u8(in) & 1; }

/* An int in [lo, hi]. */
static inline int fuzz_range(fuzz_input *in, int lo, int hi)
{
    uint32_t span = (uint32_t)(hi - lo) + 1;
    return lo + (int)(fuzz_bytes(in, span > 256 ? 2 : 1) % span);
}

/* A double: mostly interesting values (bounds, NaN, infinities), sometimes raw bits. */
static inline double fuzz_double(fuzz_input *in)
{
    static const double table[] = {0.0, 1.0, -1.0, 0.5, 2.0, 3.0, 5.0, 10.0, 15.0, 16.0, 90.0, 100.0, 255.0, 1000.0,
                                   1e9, 1e300, -1e300, 0.15, 0.25, 0.75, 1e-300, 4.9e-324};
    uint8_t sel = fuzz_u8(in);
    if (sel < 200) return table[sel % (sizeof table / sizeof table[0])];
    if (sel < 210) return (double)NAN;
    if (sel < 220) return sel & 1 ? (double)INFINITY : -(double)INFINITY;
    uint64_t bits = (uint64_t)fuzz_bytes(in, 4) | (uint64_t)fuzz_bytes(in, 4) << 32;
    double d;
    memcpy(&d, &bits, sizeof d);
    return d;
}

/* An invariant of the library that the input broke: a finding, stop here. */
#define FUZZ_CHECK(cond)                                                                       \
    do {                                                                                       \
        if (!(cond)) {                                                                         \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);          \
            abort();                                                                           \
        }                                                                                      \
    } while (0)

/* A failed call must say why. */
#define FUZZ_CHECK_DETAIL(st) FUZZ_CHECK((st) == VENSEG_OK || venseg_last_error()[0] != '\0')

#endif
