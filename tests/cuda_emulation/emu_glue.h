/* test_cuda_emulated: see emu_glue.c */
#ifndef VENSEG_EMU_GLUE_H
#define VENSEG_EMU_GLUE_H

#include <stddef.h>

#include "venseg/venseg.h"

#ifdef __cplusplus
extern "C" {
#endif

/* logits [batch][classes][h][w] of the CUDA backend (cuda = 1, on the emulated device) or
 * the reference backend (cuda = 0); describe gets the plan's description */
venseg_status emu_forward(const venseg_model *m, int cuda, int precision, int tf32, int batch, int h, int w,
                          const float *input, float *logits, char *describe, size_t describe_len);
/* the same through the model's packed store (as sessions plan), and the store's entries */
venseg_status emu_forward_shared(const venseg_model *m, int precision, int tf32, int batch, int h, int w,
                                 const float *input, float *logits);
int emu_packed_entries(const venseg_model *m);

#ifdef __cplusplus
}
#endif

#endif
