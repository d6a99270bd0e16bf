/* Keyed configurations (tracker, phantom): one implementation of create / set / get / bounds. */
#include <math.h>
#include <stdlib.h>

#include "core/keyvalue.h"

const vs_key_spec *vs_key_find(const vs_key_table *t, int key)
{
    for (size_t i = 0; i < t->n; i++)
        if (t->specs[i].key == key) return &t->specs[i];
    return NULL;
}

void vs_keys_defaults(const vs_key_table *t, double *v)
{
    for (size_t i = 0; i < t->n; i++) v[t->specs[i].key] = t->specs[i].fallback;
}

venseg_status vs_keys_new(const char *fn, const vs_key_table *t, size_t size, size_t values_offset, void **out)
{
    vs_clear_error();
    if (!out) return vs_fail(VENSEG_E_INVALID_ARGUMENT, "%s: out is NULL", fn);
    unsigned char *c = calloc(1, size);
    if (!c) return vs_fail(VENSEG_E_OUT_OF_MEMORY, "%s: out of memory", fn);
    vs_keys_defaults(t, (double *)(c + values_offset));
    *out = c;
    return VENSEG_OK;
}

venseg_status vs_keys_check(const char *fn, const vs_key_table *t, const void *config, int key, double value)
{
    vs_clear_error();
    if (!config) return vs_fail(VENSEG_E_INVALID_ARGUMENT, "%s: config is NULL", fn);
    const vs_key_spec *spec = vs_key_find(t, key);
    if (!spec) return vs_fail(VENSEG_E_INVALID_ARGUMENT, "%s: unknown key %d", fn, key);
    if (!isfinite(value) || value < spec->lower || value > spec->upper)
        return vs_fail(VENSEG_E_INVALID_ARGUMENT, "%s: %s = %g outside [%g, %g]", fn, spec->name, value, spec->lower,
                       spec->upper);
    if (spec->integral && value != floor(value))
        return vs_fail(VENSEG_E_INVALID_ARGUMENT, "%s: %s = %g must be a whole number", fn, spec->name, value);
    return VENSEG_OK;
}

venseg_status vs_keys_get(const char *fn, const vs_key_table *t, const double *v, int key, double *value)
{
    vs_clear_error();
    if (!v || !value) return vs_fail(VENSEG_E_INVALID_ARGUMENT, "%s: %s is NULL", fn, v ? "value" : "config");
    if (!vs_key_find(t, key)) return vs_fail(VENSEG_E_INVALID_ARGUMENT, "%s: unknown key %d", fn, key);
    *value = v[key];
    return VENSEG_OK;
}

venseg_status vs_keys_bounds(const char *fn, const vs_key_table *t, int key, double *lower, double *upper,
                             double *fallback)
{
    vs_clear_error();
    if (!lower || !upper) return vs_fail(VENSEG_E_INVALID_ARGUMENT, "%s: NULL output", fn);
    const vs_key_spec *spec = vs_key_find(t, key);
    if (!spec) return vs_fail(VENSEG_E_INVALID_ARGUMENT, "%s: unknown key %d", fn, key);
    *lower = spec->lower;
    *upper = spec->upper;
    if (fallback) *fallback = spec->fallback;
    return VENSEG_OK;
}
