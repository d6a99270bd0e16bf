/* Entry point of libvenseg_cuda: the handshake with the loading libvenseg
 * (backends/cuda_module.h), the error helper the backend code calls (forwarded to the
 * host, so venseg_last_error() shows it), the device probe and version string. This
 * is the module's only exported symbol. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <cuda_runtime_api.h>
#include <cudnn.h>

#include "backends/cuda/cuda_backend.h"
#include "backends/cuda/cuda_kernels.h"
#include "backends/cuda_module.h"

static const vs_host_services *host;

venseg_status vs_fail(venseg_status status, const char *fmt, ...)
{
    char message[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    return host ? host->fail(status, message) : status;
}

void vs_clear_error(void)
{
    if (host) host->fail(VENSEG_OK, "");
}

const char *vc_last_error(void) { return host ? host->last_error() : ""; }

int vs_node_out_size(const vs_node *n, int in_size) { return host->node_out_size(n, in_size); }

venseg_status vs_packed_get(vs_packed_store *s, const vs_packed_request *r, void **data)
{
    return host->packed_get(s, r, data);
}

const float *vs_node_weights(const vs_node *n, float **owned) { return host->node_weights(n, owned); }

venseg_status vc_probe(int device)
{
    int count = 0;
    cudaError_t e = cudaGetDeviceCount(&count);
    if (e != cudaSuccess || count == 0)
        return vs_fail(VENSEG_E_UNSUPPORTED, "CUDA backend: no usable CUDA device (%s: %s; %s)",
                       e != cudaSuccess ? cudaGetErrorName(e) : "cudaGetDeviceCount", e != cudaSuccess ? cudaGetErrorString(e) : "0 devices",
                       vc_versions());
    if (device < 0 || device >= count)
        return vs_fail(VENSEG_E_UNSUPPORTED, "CUDA backend: device %d requested (VENSEG_OPT_DEVICE), %d present", device, count);
    int prev = -1;
    int had = cudaGetDevice(&prev) == cudaSuccess;
    e = cudaSetDevice(device);
    cudaError_t k = e == cudaSuccess ? vc_kernels_check() : e;
    struct cudaDeviceProp prop;
    memset(&prop, 0, sizeof prop);
    cudaGetDeviceProperties(&prop, device);
    if (had) cudaSetDevice(prev);
    if (k != cudaSuccess)
        return vs_fail(VENSEG_E_UNSUPPORTED,
                       "CUDA backend: device %d (%s, sm_%d%d) cannot run this build's kernels (%s); rebuild with "
                       "CMAKE_CUDA_ARCHITECTURES including %d%d",
                       device, prop.name, prop.major, prop.minor, cudaGetErrorName(k), prop.major, prop.minor);
    if (cudnnGetVersion() / 10000 != CUDNN_MAJOR)
        return vs_fail(VENSEG_E_BACKEND, "CUDA backend: built for cuDNN %d, loaded cuDNN %zu", CUDNN_MAJOR,
                       cudnnGetVersion());
    return VENSEG_OK;
}

const char *vc_versions(void)
{
    static char text[128];
    int rt = 0, drv = 0;
    cudaRuntimeGetVersion(&rt);
    if (cudaDriverGetVersion(&drv) != cudaSuccess) drv = 0;
    const size_t dn = cudnnGetVersion();
    char driver[32] = "none";
    if (drv) snprintf(driver, sizeof driver, "%d.%d", drv / 1000, drv % 1000 / 10);
    snprintf(text, sizeof text, "cuda runtime %d.%d, driver %s, cudnn %zu.%zu.%zu", rt / 1000, rt % 1000 / 10, driver,
             dn / 10000, dn / 100 % 100, dn % 100);
    return text;
}

static const vs_cuda_module module = {
    sizeof(vs_cuda_module), VS_CUDA_HANDSHAKE_VERSION, VS_BACKEND_API_VERSION, VENSEG_VERSION_STRING,
    &vc_backend_cuda,       vc_probe,                  vc_versions,
};

__attribute__((visibility("default"))) const vs_cuda_module *venseg_cuda_module_open(const vs_host_services *h, char *why,
                                                                                     size_t why_len)
{
    if (!h || h->struct_size < sizeof *h || h->handshake_version != VS_CUDA_HANDSHAKE_VERSION ||
        h->backend_api_version != VS_BACKEND_API_VERSION || !h->library_version ||
        strcmp(h->library_version, VENSEG_VERSION_STRING) != 0 || !VS_CUDA_HANDSHAKE_SIZES(h) || !h->fail ||
        !h->last_error || !h->node_out_size || !h->packed_get || !h->node_weights) {
        if (why && why_len)
            snprintf(why, why_len, "the module is libvenseg %s (backend API %d, handshake %d), the host %s",
                     VENSEG_VERSION_STRING, VS_BACKEND_API_VERSION, VS_CUDA_HANDSHAKE_VERSION,
                     h && h->library_version ? h->library_version : "?");
        return NULL;
    }
    host = h;
    return &module;
}
