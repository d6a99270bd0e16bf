/* Backend registry: the only file that knows which backends are compiled in. */
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "backends/cuda_module.h"
#include "backends/registry.h"

#ifdef VENSEG_HAVE_ONEDNN
#include "backends/onednn/dnnl_compat.h"
#endif

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
    static const char *const names[] = {"fp32", "bf16", "int8", "fp16", "auto"};
    return (unsigned)precision < sizeof names / sizeof names[0] ? names[precision] : "?";
}

static atomic_int cpu_override = -1;

void vs_cpu_features_override(int features) { atomic_store(&cpu_override, features < 0 ? -1 : features); }

unsigned vs_cpu_features(void)
{
    int forced = atomic_load(&cpu_override);
    if (forced >= 0) return (unsigned)forced;
    unsigned f = 0;
#ifdef VENSEG_HAVE_ONEDNN
    /* oneDNN's ISA values are sets of feature bits: a newer ISA contains an older one's */
    const unsigned isa = (unsigned)dnnl_get_effective_cpu_isa();
#define VS_HAS_ISA(x) ((isa & (unsigned)(x)) == (unsigned)(x))
    if (VS_HAS_ISA(dnnl_cpu_isa_avx512_core_vnni)) f |= VS_CPU_AVX512_VNNI;
    if (VS_HAS_ISA(dnnl_cpu_isa_avx2_vnni)) f |= VS_CPU_AVX_VNNI;
    if (VS_HAS_ISA(dnnl_cpu_isa_avx512_core_amx)) f |= VS_CPU_AMX_BF16;
#undef VS_HAS_ISA
#endif
    return f;
}

/* fp16 keeps |x| < 65504; half of it leaves room for sums inside a layer. */
#define VS_FP16_SAFE_MAX 32768.0

static venseg_precision auto_precision(const vs_backend_entry *e, const vs_auto_facts *f, char *why, size_t n)
{
    if (e->id == VENSEG_BACKEND_ONEDNN) {
        const unsigned cpu = vs_cpu_features();
        const char *vnni = cpu & VS_CPU_AVX512_VNNI ? "AVX512-VNNI" : cpu & VS_CPU_AVX_VNNI ? "AVX-VNNI" : NULL;
#if defined(VENSEG_HAVE_ONEDNN) && VSD_HAVE_INT8
        const int int8_built = 1;
#else
        const int int8_built = 0;
#endif
        if (f->int8_ranges && vnni && int8_built) {
            snprintf(why, n, "int8 (the model has int8 ranges, the CPU has %s)", vnni);
            return VENSEG_PRECISION_INT8;
        }
        const char *no_int8 = !f->int8_ranges ? "the model has no int8 ranges"
                              : !vnni         ? "the CPU has no VNNI"
                                              : "int8 needs oneDNN 2.x";
        if (cpu & VS_CPU_AMX_BF16) {
            snprintf(why, n, "bf16 (the CPU has AMX; %s)", no_int8);
            return VENSEG_PRECISION_BF16;
        }
        snprintf(why, n, "fp32 (%s; the CPU has no AMX)", no_int8);
        return VENSEG_PRECISION_FP32;
    }
    if (e->id == VENSEG_BACKEND_CUDA) {
        if (f->activation_max <= VS_FP16_SAFE_MAX) { /* false for NaN */
            snprintf(why, n, "fp16 (the model's calibrated activations, max |x| %.4g, fit fp16)", f->activation_max);
            return VENSEG_PRECISION_FP16;
        }
        if (isnan(f->activation_max)) snprintf(why, n, "fp32 (the model has no calibrated ranges to show fp16 fits)");
        else snprintf(why, n, "fp32 (the model's activations reach %.4g: too near fp16's limit)", f->activation_max);
        return VENSEG_PRECISION_FP32;
    }
    snprintf(why, n, "fp32 (the %s backend runs fp32 only)", e->name);
    return VENSEG_PRECISION_FP32;
}

venseg_precision vs_auto_precision(venseg_backend id, const vs_auto_facts *facts, char *why, size_t why_len)
{
    const vs_backend_entry *e = find(id);
    if (!e) {
        snprintf(why, why_len, "fp32 (unknown backend %d)", (int)id);
        return VENSEG_PRECISION_FP32;
    }
    return auto_precision(e, facts, why, why_len);
}

venseg_status vs_backend_pick(const char *fn, venseg_backend want, venseg_precision precision, int device,
                              const vs_backend_ops **out, char *note, size_t note_len)
{
    const vs_auto_facts none = {0, NAN};
    char why[8];
    return vs_backend_pick_auto(fn, want, &precision, &none, device, out, why, sizeof why, note, note_len);
}

venseg_status vs_backend_pick_auto(const char *fn, venseg_backend want, venseg_precision *precision,
                                   const vs_auto_facts *facts, int device, const vs_backend_ops **out, char *why,
                                   size_t why_len, char *note, size_t note_len)
{
    const venseg_precision asked = *precision;
    note[0] = why[0] = '\0';
    if (want != VENSEG_BACKEND_AUTO) {
        const vs_backend_entry *e = find(want);
        if (!e) return vs_fail(VENSEG_E_INVALID_ARGUMENT, "%s: unknown backend %d", fn, (int)want);
        const venseg_precision p = asked == VENSEG_PRECISION_AUTO ? auto_precision(e, facts, why, why_len) : asked;
        if (!(e->precisions & VS_PRECISION_BIT(p)))
            return vs_fail(VENSEG_E_UNSUPPORTED, "%s: the %s backend runs %s, not %s", fn, e->name,
                           e->precisions_text, vs_precision_name(p));
        if (!e->built)
            return vs_fail(VENSEG_E_UNSUPPORTED, "%s: the %s backend is not built into this library (%s)", fn, e->name,
                           venseg_build_info());
        *precision = p;
        return e->open(device, out);
    }
    for (size_t i = 0; i < sizeof entries / sizeof entries[0]; i++) {
        const vs_backend_entry *e = &entries[i];
        if (!e->built) continue;
        const venseg_precision p = asked == VENSEG_PRECISION_AUTO ? auto_precision(e, facts, why, why_len) : asked;
        if (!(e->precisions & VS_PRECISION_BIT(p))) continue;
        if (e->open(device, out) == VENSEG_OK) {
            *precision = p;
            return VENSEG_OK;
        }
        /* keep the first reason: it names the backend AUTO would have preferred */
        if (!note[0])
        {
            if (e->gpu) snprintf(note, note_len, "AUTO fell back to the CPU: %s", venseg_last_error());
            else snprintf(note, note_len, "AUTO passed over %s: %s", e->name, venseg_last_error());
        }
        vs_clear_error();
    }
    why[0] = '\0';
    return vs_fail(VENSEG_E_UNSUPPORTED, "%s: no backend built into this library runs %s (%s)%s%s", fn,
                   vs_precision_name(asked), venseg_build_info(), note[0] ? "; " : "", note);
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
