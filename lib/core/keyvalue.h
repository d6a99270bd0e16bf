/* Key + double value tables shared by the tracker and phantom configurations. Not installed. */
#ifndef VENSEG_KEYVALUE_H
#define VENSEG_KEYVALUE_H

#include <stddef.h>

#include "core/internal.h"

typedef struct vs_key_spec {
    int key;
    const char *name;
    double lower, upper, fallback;
    int integral; /* the value must be a whole number */
} vs_key_spec;

/* A keyed configuration's table; its values live in a double array indexed by key. */
typedef struct vs_key_table {
    const vs_key_spec *specs;
    size_t n;
} vs_key_table;

/* The spec of key, NULL for an unknown key. */
const vs_key_spec *vs_key_find(const vs_key_table *t, int key);

/* Every key's default into v[key]. */
void vs_keys_defaults(const vs_key_table *t, double *v);

/* The functions of a configuration object (they clear the error first); fn names the
 * public function. vs_keys_new: a zeroed object of `size` bytes with the defaults in
 * the double array at values_offset. vs_keys_check: what _set checks (config non-NULL,
 * known key, value in range and whole for an integral key); the caller stores it.
 * vs_keys_get: *value = v[key] (v NULL: the config is NULL). */
venseg_status vs_keys_new(const char *fn, const vs_key_table *t, size_t size, size_t values_offset, void **out);
venseg_status vs_keys_check(const char *fn, const vs_key_table *t, const void *config, int key, double value);
venseg_status vs_keys_get(const char *fn, const vs_key_table *t, const double *v, int key, double *value);
venseg_status vs_keys_bounds(const char *fn, const vs_key_table *t, int key, double *lower, double *upper,
                             double *fallback);

#endif
