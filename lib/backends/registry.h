/* The backends built into this library and what each can run: the one place that
 * knows which are compiled in. Sessions and calibration choose from it instead of
 * naming backends under #ifdef. */
#ifndef VENSEG_REGISTRY_H
#define VENSEG_REGISTRY_H

#include "backends/backend.h"

#define VS_PRECISION_BIT(p) (1u << (unsigned)(p))

typedef struct vs_backend_entry {
    venseg_backend id;
    const char *name;       /* for messages: "reference", "oneDNN", "CUDA" */
    unsigned precisions;    /* VS_PRECISION_BIT of each precision it runs */
    const char *precisions_text; /* the same in words, for messages */
    int built;              /* compiled in (CUDA: its loader; the module may still be absent) */
    int gpu;                /* AUTO falling back from it falls back to the CPU */
    /* The ops for `device`, or a named error when the backend cannot run here. */
    venseg_status (*open)(int device, const vs_backend_ops **out);
} vs_backend_entry;

/* Every known backend, in AUTO's order of preference; *count receives their number. */
const vs_backend_entry *vs_backend_registry(int *count);

/* The entry of a backend id, NULL when it is not a backend. */
const vs_backend_entry *vs_backend_find(venseg_backend id);

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
