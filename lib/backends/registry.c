/* Backend registry: the only file that knows which backends are compiled in. */
#include <stdio.h>
#include <string.h>

#include "backends/cuda_module.h"
#include "backends/registry.h"

#define VS_PRECISION_BIT(p) (1u << (unsigned)(p))

/* One backend and what it can run. */
typedef struct vs_backend_entry {
    venseg_backend id;
    const char *name;            /* for messages: "reference", "oneDNN", "CUDA" */
    unsigned precisions;         /* VS_PRECISION_BIT of each precision it runs */
    const char *precisions_text; /* the same in words, for messages */
    int built;                   /* compiled in (CUDA: its loader; the module may still be absent) */
    int gpu;                     /* AUTO falling back from it falls back to the CPU */
    /* The ops for `device`, or a named error when the backend cannot run here. */
    venseg_status (*open)(int device, const vs_backend_ops **out);
} vs_backend_entry;

static venseg_status open_reference(int device, const vs_backend_ops **out)
{
    (void)device;
    *out = &vs_backend_reference;
    return VENSEG_OK;
}

#ifdef VENSEG_HAVE_ONEDNN
static venseg_status open_onednn(int device, const vs_backend_ops **out)
{
    (void)device;
    *out = &vs_backend_onednn;
    return VENSEG_OK;
}
#define VS_ONEDNN_OPEN open_onednn
#define VS_ONEDNN_BUILT 1
#else
#define VS_ONEDNN_OPEN NULL
#define VS_ONEDNN_BUILT 0
#endif

#ifdef VENSEG_HAVE_CUDA
#define VS_CUDA_BUILT 1
#else
#define VS_CUDA_BUILT 0
#endif

/* In AUTO's order of preference. */
static const vs_backend_entry entries[] = {
    {VENSEG_BACKEND_CUDA, "CUDA", VS_PRECISION_BIT(VENSEG_PRECISION_FP32) | VS_PRECISION_BIT(VENSEG_PRECISION_FP16),
     "fp32 and fp16", VS_CUDA_BUILT, 1, vs_cuda_backend},
    {VENSEG_BACKEND_ONEDNN, "oneDNN",
     VS_PRECISION_BIT(VENSEG_PRECISION_FP32) | VS_PRECISION_BIT(VENSEG_PRECISION_BF16) |
         VS_PRECISION_BIT(VENSEG_PRECISION_INT8),
     "fp32, bf16 and int8", VS_ONEDNN_BUILT, 0, VS_ONEDNN_OPEN},
    {VENSEG_BACKEND_REFERENCE, "reference", VS_PRECISION_BIT(VENSEG_PRECISION_FP32), "fp32 only", 1, 0,
     open_reference},
};

static const vs_backend_entry *find(venseg_backend id)
{
    for (size_t i = 0; i < sizeof entries / sizeof entries[0]; i++)
        if (entries[i].id == id) return &entries[i];
    return NULL;
}

const char *vs_precision_name(venseg_precision precision)
{
    static const char *const names[] = {"fp32", "bf16", "int8", "fp16"};
    return (unsigned)precision < sizeof names / sizeof names[0] ? names[precision] : "?";
}

venseg_status vs_backend_pick(const char *fn, venseg_backend want, venseg_precision precision, int device,
                              const vs_backend_ops **out, char *note, size_t note_len)
{
    const unsigned bit = VS_PRECISION_BIT(precision);
    note[0] = '\0';
    if (want != VENSEG_BACKEND_AUTO) {
        const vs_backend_entry *e = find(want);
        if (!e) return vs_fail(VENSEG_E_INVALID_ARGUMENT, "%s: unknown backend %d", fn, (int)want);
        if (!(e->precisions & bit))
            return vs_fail(VENSEG_E_UNSUPPORTED, "%s: the %s backend runs %s, not %s", fn, e->name,
                           e->precisions_text, vs_precision_name(precision));
        if (!e->built)
            return vs_fail(VENSEG_E_UNSUPPORTED, "%s: the %s backend is not built into this library (%s)", fn, e->name,
                           venseg_build_info());
        return e->open(device, out);
    }
    for (size_t i = 0; i < sizeof entries / sizeof entries[0]; i++) {
        const vs_backend_entry *e = &entries[i];
        if (!e->built || !(e->precisions & bit)) continue;
        if (e->open(device, out) == VENSEG_OK) return VENSEG_OK;
        /* keep the first reason: it names the backend AUTO would have preferred */
        if (!note[0])
        {
            if (e->gpu) snprintf(note, note_len, "AUTO fell back to the CPU: %s", venseg_last_error());
            else snprintf(note, note_len, "AUTO passed over %s: %s", e->name, venseg_last_error());
        }
        vs_clear_error();
    }
    return vs_fail(VENSEG_E_UNSUPPORTED, "%s: no backend built into this library runs %s (%s)%s%s", fn,
                   vs_precision_name(precision), venseg_build_info(), note[0] ? "; " : "", note);
}

const vs_backend_ops *vs_backend_observable(void)
{
    for (size_t i = 0; i < sizeof entries / sizeof entries[0]; i++) {
        const vs_backend_ops *ops;
        if (entries[i].built && !entries[i].gpu && entries[i].open(0, &ops) == VENSEG_OK && ops->run_observed)
            return ops;
    }
    return &vs_backend_reference;
}
