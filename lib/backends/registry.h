/* The backends built into this library and what each can run: the one place that
 * knows which are compiled in. Sessions and calibration choose from it instead of
 * naming backends under #ifdef. */
#ifndef VENSEG_REGISTRY_H
#define VENSEG_REGISTRY_H

#include "backends/backend.h"

/* "fp32", "bf16", "int8", "fp16", "auto"; "?" outside the enum. */
const char *vs_precision_name(venseg_precision precision);

/* The backend a session with these options runs (AUTO: the first built one that runs
 * the precision and opens); note[] receives why AUTO passed a backend over ("" if none).
 * fn names the public function in error messages. */
venseg_status vs_backend_pick(const char *fn, venseg_backend want, venseg_precision precision, int device,
                              const vs_backend_ops **out, char *note, size_t note_len);

/* CPU features that decide VENSEG_PRECISION_AUTO on the oneDNN backend (bits). */
enum { VS_CPU_AVX512_VNNI = 1u, VS_CPU_AVX_VNNI = 2u, VS_CPU_AMX_BF16 = 4u };

/* The features oneDNN will use here (its effective ISA, so ONEDNN_MAX_CPU_ISA counts);
 * 0 without the oneDNN backend. */
unsigned vs_cpu_features(void);
/* Tests only: vs_cpu_features() answers `features` from now on; -1 restores the CPU's own. */
void vs_cpu_features_override(int features);

/* What VENSEG_PRECISION_AUTO needs to know of the model. */
typedef struct vs_auto_facts {
    int int8_ranges;       /* int8 activation ranges (in the file, or a calibration) */
    double activation_max; /* largest calibrated max |x| (NaN: no ranges) */
} vs_auto_facts;

/* The precision AUTO resolves to on backend `id` for a model with these facts; why[]
 * says why. Unknown backends: fp32. */
venseg_precision vs_auto_precision(venseg_backend id, const vs_auto_facts *facts, char *why, size_t why_len);

/* vs_backend_pick for any precision: with VENSEG_PRECISION_AUTO, *precision receives what
 * each candidate backend runs best for this model (docs/precision.md) and why[] says
 * which and why, e.g. "int8 (the model has int8 ranges, the CPU has AVX512-VNNI)";
 * otherwise *precision is kept and why[] is "". */
venseg_status vs_backend_pick_auto(const char *fn, venseg_backend want, venseg_precision *precision,
                                   const vs_auto_facts *facts, int device, const vs_backend_ops **out, char *why,
                                   size_t why_len, char *note, size_t note_len);

/* A backend that runs with an observer (run_observed set), for calibration. */
const vs_backend_ops *vs_backend_observable(void);

#endif
