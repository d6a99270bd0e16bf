/* Status names, the thread-local error detail, version and build information. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <zlib.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "core/internal.h"

static _Thread_local char tls_detail[1024];

venseg_status vs_fail(venseg_status status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tls_detail, sizeof tls_detail, fmt, ap);
    va_end(ap);
    return status;
}

void vs_clear_error(void) { tls_detail[0] = '\0'; }

const char *venseg_last_error(void) { return tls_detail; }

const char *venseg_status_name(venseg_status status)
{
    switch (status) {
    case VENSEG_OK: return "VENSEG_OK";
    case VENSEG_E_INVALID_ARGUMENT: return "VENSEG_E_INVALID_ARGUMENT";
    case VENSEG_E_OUT_OF_MEMORY: return "VENSEG_E_OUT_OF_MEMORY";
    case VENSEG_E_IO: return "VENSEG_E_IO";
    case VENSEG_E_BAD_FILE: return "VENSEG_E_BAD_FILE";
    case VENSEG_E_FILE_VERSION: return "VENSEG_E_FILE_VERSION";
    case VENSEG_E_BAD_MODEL: return "VENSEG_E_BAD_MODEL";
    case VENSEG_E_UNSUPPORTED: return "VENSEG_E_UNSUPPORTED";
    case VENSEG_E_BACKEND: return "VENSEG_E_BACKEND";
    case VENSEG_E_BUFFER_TOO_SMALL: return "VENSEG_E_BUFFER_TOO_SMALL";
    case VENSEG_E_NOT_FOUND: return "VENSEG_E_NOT_FOUND";
    case VENSEG_E_BAD_STATE: return "VENSEG_E_BAD_STATE";
    case VENSEG_E_UNDEFINED: return "VENSEG_E_UNDEFINED";
    case VENSEG_E_INTERNAL: return "VENSEG_E_INTERNAL";
    }
    return "VENSEG_E_UNKNOWN";
}

unsigned venseg_version_number(void) { return VENSEG_VERSION_NUMBER; }

const char *venseg_version_string(void) { return VENSEG_VERSION_STRING; }

#define VS_STR2(x) #x
#define VS_STR(x) VS_STR2(x)
#ifdef _OPENMP
#define VS_OPENMP_INFO "openmp=" VS_STR(_OPENMP)
#else
#define VS_OPENMP_INFO "openmp=no"
#endif

#ifdef VENSEG_HAVE_ONEDNN
#include <dnnl_version.h>
#define VS_ONEDNN_INFO ",onednn;onednn=" VS_STR(DNNL_VERSION_MAJOR) "." VS_STR(DNNL_VERSION_MINOR) "." VS_STR(DNNL_VERSION_PATCH)
#else
#define VS_ONEDNN_INFO ""
#endif
#ifdef VENSEG_HAVE_CUDA /* a separately loaded module: present or not at run time */
#define VS_CUDA_NAME ",cuda"
#define VS_CUDA_INFO ";cuda=module libvenseg_cuda.so." VS_STR(VENSEG_ABI_VERSION)
#else
#define VS_CUDA_NAME ""
#define VS_CUDA_INFO ""
#endif

const char *venseg_build_info(void)
{
    return "version=" VENSEG_VERSION_STRING ";abi=" VS_STR(VENSEG_ABI_VERSION)
           ";backends=reference" VS_CUDA_NAME VS_ONEDNN_INFO VS_CUDA_INFO ";" VS_OPENMP_INFO ";zlib=" ZLIB_VERSION;
}

int vs_mul_size(size_t a, size_t b, size_t *out)
{
    if (a != 0 && b > SIZE_MAX / a) return 0;
    *out = a * b;
    return 1;
}

float vs_half_to_float(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1fu;
    uint32_t man = h & 0x3ffu;
    uint32_t bits;
    if (exp == 0) {
        if (man == 0) {
            bits = sign;
        } else { /* subnormal: normalise */
            exp = 127 - 15 + 1;
            while (!(man & 0x400u)) { man <<= 1; exp--; }
            man &= 0x3ffu;
            bits = sign | (exp << 23) | (man << 13);
        }
    } else if (exp == 31) {
        bits = sign | 0x7f800000u | (man << 13);
    } else {
        bits = sign | ((exp + 127 - 15) << 23) | (man << 13);
    }
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

float vs_bf16_to_float(uint16_t b)
{
    uint32_t bits = (uint32_t)b << 16;
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

int vs_resolve_threads(int64_t requested)
{
    if (requested > 0) return (int)requested;
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

/* 8: struct_size and the first 4-byte field, the least any result struct holds */
venseg_status vs_struct_check(const char *fn, const void *out)
{
    uint32_t size;
    memcpy(&size, out, sizeof size);
    if (size < 8)
        return vs_fail(VENSEG_E_INVALID_ARGUMENT, "%s: struct_size %u is too small (set it to sizeof the struct)", fn,
                       size);
    return VENSEG_OK;
}

void vs_struct_copy(void *out, const void *full, size_t full_size)
{
    uint32_t caller;
    memcpy(&caller, out, sizeof caller);
    const size_t n = caller < full_size ? caller : full_size;
    memcpy(out, full, n);
    memcpy(out, &caller, sizeof caller);
}

venseg_status vs_count_out(const char *fn, const void *obj, const char *what, int32_t *count, int32_t n)
{
    vs_clear_error();
    if (!obj || !count) return vs_fail(VENSEG_E_INVALID_ARGUMENT, "%s: %s is NULL", fn, obj ? "count" : what);
    *count = n;
    return VENSEG_OK;
}

venseg_status vs_out_check(const char *fn, const void *obj, const char *what, const void *out)
{
    vs_clear_error();
    if (!obj || !out) return vs_fail(VENSEG_E_INVALID_ARGUMENT, "%s: %s is NULL", fn, obj ? "out" : what);
    return vs_struct_check(fn, out);
}

venseg_status vs_item_check(const char *fn, const void *obj, const char *what, const void *out, int32_t index,
                            int32_t count)
{
    venseg_status st = vs_out_check(fn, obj, what, out);
    if (st) return st;
    if (index < 0 || index >= count)
        return vs_fail(VENSEG_E_NOT_FOUND, "%s: index %d outside [0, %d)", fn, index, count);
    return VENSEG_OK;
}
