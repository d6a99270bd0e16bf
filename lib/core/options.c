/* Session configuration: enum key + integer value, with bounds and defaults (zstd's setParameter pattern). */
#include <stdlib.h>

#include "core/options.h"

typedef struct option_spec {
    venseg_option key;
    const char *name;
    int64_t lower, upper, fallback;
} option_spec;

static const option_spec specs[] = {
    {VENSEG_OPT_BACKEND, "VENSEG_OPT_BACKEND", VENSEG_BACKEND_AUTO, VENSEG_BACKEND_CUDA, VENSEG_BACKEND_AUTO},
    {VENSEG_OPT_NUM_THREADS, "VENSEG_OPT_NUM_THREADS", 0, 1024, 0},
    {VENSEG_OPT_PRECISION, "VENSEG_OPT_PRECISION", VENSEG_PRECISION_FP32, VENSEG_PRECISION_AUTO, VENSEG_PRECISION_FP32},
    {VENSEG_OPT_DEVICE, "VENSEG_OPT_DEVICE", 0, 64, 0},
    {VENSEG_OPT_MIN_INSTANCE_AREA, "VENSEG_OPT_MIN_INSTANCE_AREA", 0, INT64_C(1) << 40, 16},
    {VENSEG_OPT_THRESHOLD_PERMILLE, "VENSEG_OPT_THRESHOLD_PERMILLE", 0, 999, 0},
    {VENSEG_OPT_ALLOW_TF32, "VENSEG_OPT_ALLOW_TF32", 0, 1, 0},
    {VENSEG_OPT_FLIP_AVERAGE, "VENSEG_OPT_FLIP_AVERAGE", 0, 1, 0},
};

static const option_spec *find_spec(venseg_option key)
{
    for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++)
        if (specs[i].key == key) return &specs[i];
    return NULL;
}

int64_t *vs_option_slot(vs_option_values *v, venseg_option key)
{
    switch (key) {
    case VENSEG_OPT_BACKEND: return &v->backend;
    case VENSEG_OPT_NUM_THREADS: return &v->num_threads;
    case VENSEG_OPT_PRECISION: return &v->precision;
    case VENSEG_OPT_DEVICE: return &v->device;
    case VENSEG_OPT_MIN_INSTANCE_AREA: return &v->min_instance_area;
    case VENSEG_OPT_THRESHOLD_PERMILLE: return &v->threshold_permille;
    }
    /* experimental: not in the enum */
    if (key == VENSEG_OPT_ALLOW_TF32) return &v->allow_tf32;
    if (key == VENSEG_OPT_FLIP_AVERAGE) return &v->flip_average;
    return NULL;
}

void vs_option_defaults(vs_option_values *v)
{
    for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++)
        *vs_option_slot(v, specs[i].key) = specs[i].fallback;
}

venseg_status venseg_session_config_create(venseg_session_config **out)
{
    vs_clear_error();
    if (!out) return vs_fail(VENSEG_E_INVALID_ARGUMENT, "venseg_session_config_create: out is NULL");
    venseg_session_config *o = malloc(sizeof *o);
    if (!o) return vs_fail(VENSEG_E_OUT_OF_MEMORY, "venseg_session_config_create: out of memory");
    vs_option_defaults(&o->values);
    *out = o;
    return VENSEG_OK;
}

void venseg_session_config_free(venseg_session_config *config) { free(config); }

venseg_status venseg_session_config_set(venseg_session_config *config, venseg_option key, int64_t value)
{
    vs_clear_error();
    if (!config) return vs_fail(VENSEG_E_INVALID_ARGUMENT, "venseg_session_config_set: config is NULL");
    const option_spec *spec = find_spec(key);
    if (!spec) return vs_fail(VENSEG_E_INVALID_ARGUMENT, "venseg_session_config_set: unknown option key %d", (int)key);
    if (value < spec->lower || value > spec->upper)
        return vs_fail(VENSEG_E_INVALID_ARGUMENT, "%s: value %lld outside [%lld, %lld]", spec->name,
                       (long long)value, (long long)spec->lower, (long long)spec->upper);
    *vs_option_slot(&config->values, key) = value;
    return VENSEG_OK;
}

venseg_status venseg_session_config_get(const venseg_session_config *config, venseg_option key, int64_t *value)
{
    vs_clear_error();
    if (!config || !value)
        return vs_fail(VENSEG_E_INVALID_ARGUMENT, "venseg_session_config_get: %s is NULL", config ? "value" : "config");
    if (!find_spec(key))
        return vs_fail(VENSEG_E_INVALID_ARGUMENT, "venseg_session_config_get: unknown option key %d", (int)key);
    vs_option_values copy = config->values;
    *value = *vs_option_slot(&copy, key);
    return VENSEG_OK;
}

venseg_status venseg_session_config_bounds(venseg_option key, int64_t *lower, int64_t *upper, int64_t *fallback)
{
    vs_clear_error();
    if (!lower || !upper) return vs_fail(VENSEG_E_INVALID_ARGUMENT, "venseg_session_config_bounds: NULL output");
    const option_spec *spec = find_spec(key);
    if (!spec) return vs_fail(VENSEG_E_INVALID_ARGUMENT, "venseg_session_config_bounds: unknown option key %d", (int)key);
    *lower = spec->lower;
    *upper = spec->upper;
    if (fallback) *fallback = spec->fallback;
    return VENSEG_OK;
}

/* ABI 1 names (aliases) */

venseg_status venseg_options_create(venseg_options **out) { return venseg_session_config_create(out); }

void venseg_options_free(venseg_options *options) { venseg_session_config_free(options); }

venseg_status venseg_options_set(venseg_options *options, venseg_option key, int64_t value)
{
    return venseg_session_config_set(options, key, value);
}

venseg_status venseg_options_get(const venseg_options *options, venseg_option key, int64_t *value)
{
    return venseg_session_config_get(options, key, value);
}

venseg_status venseg_option_bounds(venseg_option key, int64_t *lower, int64_t *upper)
{
    return venseg_session_config_bounds(key, lower, upper, NULL);
}
