/* The backends built into this library and what each can run: the one place that
 * knows which are compiled in. Sessions and calibration choose from it instead of
 * naming backends under #ifdef. */
#ifndef VENSEG_REGISTRY_H
#define VENSEG_REGISTRY_H

#include "backends/backend.h"

/* "fp32", "bf16", "int8", "fp16"; "?" outside the enum. */
const char *vs_precision_name(venseg_precision precision);

/* The backend a session with these options runs (AUTO: the first built one that runs
 * the precision and opens); note[] receives why AUTO passed a backend over ("" if none).
 * fn names the public function in error messages. */
venseg_status vs_backend_pick(const char *fn, venseg_backend want, venseg_precision precision, int device,
                              const vs_backend_ops **out, char *note, size_t note_len);

/* A backend that runs with an observer (run_observed set), for calibration. */
const vs_backend_ops *vs_backend_observable(void);

#endif
