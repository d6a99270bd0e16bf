/* Option storage shared by venseg_options and sessions. */
#ifndef VENSEG_OPTIONS_H
#define VENSEG_OPTIONS_H

#include "core/internal.h"

typedef struct vs_option_values {
    int64_t backend;
    int64_t num_threads;
    int64_t precision;
    int64_t device;
    int64_t min_instance_area;
    int64_t threshold_permille;
    int64_t allow_tf32;   /* VENSEG_OPT_ALLOW_TF32 (experimental) */
    int64_t flip_average; /* VENSEG_OPT_FLIP_AVERAGE (experimental) */
} vs_option_values;

void vs_option_defaults(vs_option_values *v);
/* Pointer to the slot of a key, NULL for an unknown key. */
int64_t *vs_option_slot(vs_option_values *v, venseg_option key);

struct venseg_options {
    vs_option_values values;
};

#endif
