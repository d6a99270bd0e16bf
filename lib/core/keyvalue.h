/* Key + double value tables shared by the tracker and phantom configurations. Not installed. */
#ifndef VENSEG_KEYVALUE_H
#define VENSEG_KEYVALUE_H

#include <math.h>
#include <stddef.h>

#include "core/internal.h"

typedef struct vs_key_spec {
    int key;
    const char *name;
    double lower, upper, fallback;
    int integral; /* the value must be a whole number */
} vs_key_spec;

static inline const vs_key_spec *vs_key_find(const vs_key_spec *specs, size_t n, int key)
{
    for (size_t i = 0; i < n; i++)
        if (specs[i].key == key) return &specs[i];
    return NULL;
}

/* VENSEG_OK when value is valid for spec, else an INVALID_ARGUMENT with detail. */
static inline venseg_status vs_key_check(const char *fn, const vs_key_spec *spec, double value)
{
    if (!isfinite(value) || value < spec->lower || value > spec->upper)
        return vs_fail(VENSEG_E_INVALID_ARGUMENT, "%s: %s = %g outside [%g, %g]", fn, spec->name, value, spec->lower,
                       spec->upper);
    if (spec->integral && value != floor(value))
        return vs_fail(VENSEG_E_INVALID_ARGUMENT, "%s: %s = %g must be a whole number", fn, spec->name, value);
    return VENSEG_OK;
}

#endif
