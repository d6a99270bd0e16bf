/*
 * libvenseg experimental API: no ABI promise. Signatures here may change in any
 * release; link statically or pin the exact version. Include through venseg.h with
 * VENSEG_EXPERIMENTAL defined.
 */
#ifndef VENSEG_VENSEG_EXPERIMENTAL_H
#define VENSEG_VENSEG_EXPERIMENTAL_H

#include "venseg/venseg.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Run the network on an already normalised tensor, bypassing resize and
 * normalisation: input NCHW float32 [n, channels, height, width] with height and
 * width multiples of the network's stride (32 for ResNet encoders, 2^depth for the
 * plain UNet); output NCHW [n, n_classes, height, width] after the output
 * activation (sigmoid or softmax). With apply_activation = 0 the raw logits.
 * This is the entry point of the parity tests against PyTorch.
 */
VENSEG_API venseg_status venseg_session_run_tensor(venseg_session *session, const float *input,
                                                   int32_t n, int32_t channels, int32_t height,
                                                   int32_t width, int apply_activation,
                                                   float *output);

/* The spatial stride the input height and width must be multiples of. */
VENSEG_API venseg_status venseg_model_input_multiple(const venseg_model *model, int32_t *multiple);

/* Multiply-accumulates of one forward pass at width x height (convolutions only). */
VENSEG_API venseg_status venseg_model_macs(const venseg_model *model, int32_t width, int32_t height,
                                           int64_t *macs);

/* Tensor directory of the loaded file, for tools. */
VENSEG_API venseg_status venseg_model_tensor_count(const venseg_model *model, int32_t *count);
VENSEG_API venseg_status venseg_model_tensor_info(const venseg_model *model, int32_t index,
                                                  const char **name, int32_t *ndim,
                                                  int64_t dims[4], int32_t *stored_dtype);

#ifdef __cplusplus
}
#endif

#endif /* VENSEG_VENSEG_EXPERIMENTAL_H */
