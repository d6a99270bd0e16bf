/* Internal to the CUDA module: the backend (cuda_backend.c) and the module's entry
 * (cuda_module.c). */
#ifndef VENSEG_CUDA_BACKEND_H
#define VENSEG_CUDA_BACKEND_H

#include "backends/backend.h"

extern const vs_backend_ops vc_backend_cuda;
/* VENSEG_OK when `device` exists and can run this build's kernels */
venseg_status vc_probe(int device);
/* "cuda runtime 13.0, driver 13.0, cudnn 9.19.0" (driver "none" without one) */
const char *vc_versions(void);
/* the calling thread's detail message, kept by the host libvenseg */
const char *vc_last_error(void);

#endif
