/* The handshake between libvenseg and its separately loaded CUDA module
 * (libvenseg_cuda.so.<ABI>). The module shares the core's internal structs
 * (vs_graph, vs_plan_config, vs_backend_ops), which carry no ABI promise, so both
 * sides check that they were built from the same version of the sources: the backend
 * API version, the library version string and the sizes of the shared structs. The
 * core hands the module the few services it needs (error reporting) instead of
 * exporting its internals. */
#ifndef VENSEG_CUDA_MODULE_H
#define VENSEG_CUDA_MODULE_H

#include <stddef.h>
#include <stdint.h>

#include "backends/backend.h"

#define VS_CUDA_MODULE_STR2(x) #x
#define VS_CUDA_MODULE_STR(x) VS_CUDA_MODULE_STR2(x)
/* file name the core looks for, next to libvenseg first */
#define VS_CUDA_MODULE_FILE "libvenseg_cuda.so." VS_CUDA_MODULE_STR(VENSEG_ABI_VERSION)
/* the module's one exported symbol, a vs_cuda_module_open_fn */
#define VS_CUDA_MODULE_ENTRY "venseg_cuda_module_open"
#define VS_CUDA_HANDSHAKE_VERSION 1

/* What the core gives the module. */
typedef struct vs_host_services {
    uint32_t struct_size;
    int handshake_version;       /* VS_CUDA_HANDSHAKE_VERSION */
    int backend_api_version;     /* VS_BACKEND_API_VERSION */
    const char *library_version; /* VENSEG_VERSION_STRING */
    uint32_t sizeof_graph, sizeof_node, sizeof_plan_config, sizeof_backend_ops;
    /* records the detail message for venseg_last_error() and returns status */
    venseg_status (*fail)(venseg_status status, const char *message);
    /* this thread's detail message (venseg_last_error) */
    const char *(*last_error)(void);
    /* vs_node_out_size of the core's graph */
    int (*node_out_size)(const vs_node *n, int in_size);
    /* vs_packed_get: the model's packed store (vs_plan_config.packed), for device uploads */
    venseg_status (*packed_get)(vs_packed_store *s, const vs_packed_request *r, void **data);
    /* vs_node_weights: a node's f32 weights from the model's stored form, for uploads */
    const float *(*node_weights)(const vs_node *n, float **owned);
} vs_host_services;

/* What the module gives back. */
typedef struct vs_cuda_module {
    uint32_t struct_size;
    int handshake_version;
    int backend_api_version;
    const char *library_version;
    const vs_backend_ops *ops;
    /* VENSEG_OK when `device` can run the backend; else a named error (vs_fail) */
    venseg_status (*probe)(int device);
    /* e.g. "cuda runtime 13.0, driver 13.0, cudnn 9.19.0" */
    const char *(*versions)(void);
} vs_cuda_module;

/* NULL with a reason in why[] when the host does not match the module. */
typedef const vs_cuda_module *(*vs_cuda_module_open_fn)(const vs_host_services *host, char *why, size_t why_len);

/* The sizes both sides compare. */
#define VS_CUDA_HANDSHAKE_SIZES(s)                                                                               \
    ((s)->sizeof_graph == sizeof(vs_graph) && (s)->sizeof_node == sizeof(vs_node) &&                            \
     (s)->sizeof_plan_config == sizeof(vs_plan_config) && (s)->sizeof_backend_ops == sizeof(vs_backend_ops))

/* Core side (lib/backends/cuda_loader.c): the CUDA backend for `device`, loading the
 * module on first use. VENSEG_E_UNSUPPORTED when the module is not built or not
 * installed, or when there is no usable device; VENSEG_E_BACKEND when the module is
 * there but cannot be loaded (libcudnn missing, version mismatch). Never crashes. */
venseg_status vs_cuda_backend(int device, const vs_backend_ops **out);

#endif
