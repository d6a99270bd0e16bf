/* Core side of the CUDA backend: finds and loads libvenseg_cuda.so.<ABI> on first use
 * and checks the handshake (cuda_module.h). libvenseg itself never links libcudart or
 * libcudnn; only the module does. The module is looked for, in order:
 *   $VENSEG_CUDA_MODULE (a path; when set, nothing else is tried),
 *   the directory libvenseg was loaded from (where it is installed and built),
 *   the dynamic loader's search path (LD_LIBRARY_PATH, RUNPATH, ld.so.cache).
 * A loaded module stays loaded (CUDA runtimes do not unload cleanly). */
#if !defined(_WIN32)
#define _GNU_SOURCE /* dladdr */
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/cuda_module.h"
#include "core/internal.h"

#if defined(VENSEG_HAVE_CUDA) && !defined(_WIN32)
#include <dlfcn.h>
#include <pthread.h>
#include <unistd.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static const vs_cuda_module *loaded;
static char loaded_path[4096];

static venseg_status host_fail(venseg_status status, const char *message) { return vs_fail(status, "%s", message); }

static const vs_host_services host = {
    sizeof(vs_host_services),
    VS_CUDA_HANDSHAKE_VERSION,
    VS_BACKEND_API_VERSION,
    VENSEG_VERSION_STRING,
    sizeof(vs_graph),
    sizeof(vs_node),
    sizeof(vs_plan_config),
    sizeof(vs_backend_ops),
    host_fail,
    venseg_last_error,
    vs_node_out_size,
    vs_packed_get,
    vs_node_weights,
};

/* dlopen + handshake of one candidate; the module stays loaded on success. */
static venseg_status open_module(const char *path, const vs_cuda_module **out)
{
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        const char *e = dlerror();
        return vs_fail(VENSEG_E_BACKEND, "CUDA backend: cannot load %s: %s (the module needs libcudnn.so.9 and the NVIDIA driver)",
                       path, e ? e : "unknown error");
    }
    vs_cuda_module_open_fn open_fn;
    void *sym = dlsym(h, VS_CUDA_MODULE_ENTRY);
    memcpy(&open_fn, &sym, sizeof open_fn); /* object -> function pointer (POSIX guarantees it works) */
    char why[256] = "";
    const vs_cuda_module *m = open_fn ? open_fn(&host, why, sizeof why) : NULL;
    if (!m || m->struct_size < sizeof *m || m->handshake_version != VS_CUDA_HANDSHAKE_VERSION ||
        m->backend_api_version != VS_BACKEND_API_VERSION || !m->library_version ||
        strcmp(m->library_version, VENSEG_VERSION_STRING) != 0 || !m->ops || !m->probe || !m->versions) {
        venseg_status st = vs_fail(VENSEG_E_BACKEND,
                                   "CUDA backend: %s does not match this libvenseg %s (backend API %d): %s", path,
                                   VENSEG_VERSION_STRING, VS_BACKEND_API_VERSION,
                                   !open_fn ? "no " VS_CUDA_MODULE_ENTRY " symbol"
                                   : why[0] ? why
                                   : m && m->library_version ? m->library_version
                                                             : "handshake refused");
        dlclose(h);
        return st;
    }
    *out = m;
    return VENSEG_OK;
}

/* Loads the module (once per path) into `loaded`; call with `lock` held. */
static venseg_status load(void)
{
    const char *env = getenv("VENSEG_CUDA_MODULE");
    if (env && env[0]) {
        if (loaded && strcmp(env, loaded_path) == 0) return VENSEG_OK;
        if (access(env, F_OK) != 0)
            return vs_fail(VENSEG_E_UNSUPPORTED, "CUDA backend: VENSEG_CUDA_MODULE=%s: no such file", env);
        const vs_cuda_module *m;
        venseg_status st = open_module(env, &m);
        if (st) return st;
        loaded = m;
        snprintf(loaded_path, sizeof loaded_path, "%s", env);
        return VENSEG_OK;
    }
    if (loaded) return VENSEG_OK;
    char path[4096] = "";
    Dl_info info;
    if (dladdr((const void *)&host, &info) && info.dli_fname) {
        const char *slash = strrchr(info.dli_fname, '/');
        if (slash)
            snprintf(path, sizeof path, "%.*s/%s", (int)(slash - info.dli_fname), info.dli_fname, VS_CUDA_MODULE_FILE);
    }
    const vs_cuda_module *m = NULL;
    venseg_status st;
    if (path[0] && access(path, F_OK) == 0) {
        st = open_module(path, &m);
    } else {
        snprintf(path, sizeof path, "%s", VS_CUDA_MODULE_FILE);
        st = open_module(path, &m);
        if (st && strstr(venseg_last_error(), VS_CUDA_MODULE_FILE ": cannot open shared object file"))
            st = vs_fail(VENSEG_E_UNSUPPORTED,
                         "CUDA backend: the module %s is not installed (looked next to libvenseg and on the library "
                         "search path; VENSEG_CUDA_MODULE names it explicitly)",
                         VS_CUDA_MODULE_FILE);
    }
    if (st) return st;
    loaded = m;
    snprintf(loaded_path, sizeof loaded_path, "%s", path);
    return VENSEG_OK;
}

venseg_status vs_cuda_backend(int device, const vs_backend_ops **out)
{
    pthread_mutex_lock(&lock);
    venseg_status st = load();
    const vs_cuda_module *m = loaded;
    pthread_mutex_unlock(&lock);
    if (st) return st;
    if ((st = m->probe(device))) return st;
    *out = m->ops;
    return VENSEG_OK;
}

#else

venseg_status vs_cuda_backend(int device, const vs_backend_ops **out)
{
    (void)device;
    (void)out;
    return vs_fail(VENSEG_E_UNSUPPORTED, "CUDA backend: not built into this library (configure with -DVENSEG_WITH_CUDA=ON; %s)",
                   venseg_build_info());
}

#endif
