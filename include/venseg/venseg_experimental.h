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

/*
 * Experimental option key (keys >= 1000 carry no ABI promise): 1 lets GPU backends
 * run FP32 convolutions on TF32 tensor cores (10-bit mantissa inputs, fp32
 * accumulation: faster, logits differ from the reference by ~1e-2); default 0, strict
 * FP32. Ignored by the CPU backends.
 */
#define VENSEG_OPT_ALLOW_TF32 ((venseg_option)1000)

/*
 * Experimental option key: 1 segments each frame and its mirror image (left-right) and
 * averages the two probability maps (test-time augmentation): twice the network's cost
 * per frame. Default 0. Added after 0.5.0; docs/tracking.md has what it did to the verdicts.
 */
#define VENSEG_OPT_FLIP_AVERAGE ((venseg_option)1001)

/* The spatial stride the input height and width must be multiples of. */
VENSEG_API venseg_status venseg_model_input_multiple(const venseg_model *model, int32_t *multiple);

/*
 * int8 calibration: run the fp32 reference network over sample frames and record the
 * largest |activation| of the input and of every convolution / BN output. A session
 * of precision VENSEG_PRECISION_INT8 quantises activations with these ranges (u8
 * after ReLU, else s8) and weights per output channel. The ranges can be stored in a
 * weights file as metadata int8.activation_names / int8.activation_max
 * (docs/weights-format.md); plain venseg_session_create then uses them.
 */
typedef struct venseg_calibration venseg_calibration;
VENSEG_API venseg_status venseg_calibration_create(const venseg_model *model, venseg_calibration **out);
VENSEG_API void venseg_calibration_free(venseg_calibration *calibration);
/* A frame, preprocessed exactly as venseg_segment does (whole frame, no ROI). */
VENSEG_API venseg_status venseg_calibration_add_frame(venseg_calibration *calibration, const void *pixels,
                                                      venseg_pixel_format format, int32_t width, int32_t height,
                                                      int64_t row_stride);
/* A normalised network input [channels][height][width]. */
VENSEG_API venseg_status venseg_calibration_add_tensor(venseg_calibration *calibration, const float *input,
                                                       int32_t channels, int32_t height, int32_t width);
VENSEG_API venseg_status venseg_calibration_count(const venseg_calibration *calibration, int32_t *count);
/* Entry 0 is "input"; the others are named after the convolution weight or BN layer. */
VENSEG_API venseg_status venseg_calibration_entry(const venseg_calibration *calibration, int32_t index,
                                                  const char **name, double *max_abs);
/* Like venseg_session_create, with int8 ranges from `calibration` instead of the model. */
VENSEG_API venseg_status venseg_session_create_calibrated(const venseg_model *model, const venseg_options *options,
                                                          const venseg_calibration *calibration,
                                                          venseg_session **out);

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
