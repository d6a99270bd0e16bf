/* Internal declarations shared by the core and the backends. Not installed. */
#ifndef VENSEG_INTERNAL_H
#define VENSEG_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "venseg/venseg.h"

#if defined(__GNUC__)
#define VS_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define VS_PRINTF(a, b)
#endif

/* Records the detail message for venseg_last_error() on this thread and returns status. */
venseg_status vs_fail(venseg_status status, const char *fmt, ...) VS_PRINTF(2, 3);
/* Clears the thread's detail message (called on entry of public functions). */
void vs_clear_error(void);

/* a * b (* c) without overflow into *out; 0 on overflow. */
int vs_mul_size(size_t a, size_t b, size_t *out);

float vs_half_to_float(uint16_t h);
float vs_bf16_to_float(uint16_t b);

/* The struct_size protocol of result structs (the caller sets the leading uint32_t
 * struct_size; nothing past it is written). vs_struct_check: INVALID_ARGUMENT when it
 * cannot hold even the first field after struct_size. vs_struct_copy: copies
 * min(struct_size, full_size) bytes of full, keeping the caller's struct_size. */
venseg_status vs_struct_check(const char *fn, const void *out);
void vs_struct_copy(void *out, const void *full, size_t full_size);

/* The checks of functions that fill a result struct, called first (they clear the
 * error). vs_out_check: obj (named `what`) and out non-NULL, vs_struct_check.
 * vs_item_check (_at): the same, and index in [0, count) or VENSEG_E_NOT_FOUND.
 * vs_count_out (_count): *count = n once obj and count are non-NULL. */
venseg_status vs_out_check(const char *fn, const void *obj, const char *what, const void *out);
venseg_status vs_item_check(const char *fn, const void *obj, const char *what, const void *out, int32_t index,
                            int32_t count);
venseg_status vs_count_out(const char *fn, const void *obj, const char *what, int32_t *count, int32_t n);

/* Threads actually used for a requested count (0 = OpenMP default). */
int vs_resolve_threads(int64_t requested);

#endif
