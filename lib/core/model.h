/* The loaded model: parsed file, built graph, pre/post-processing spec. Immutable but for
 * the reference count and the packed-weights store (which has its own lock). */
#ifndef VENSEG_MODEL_H
#define VENSEG_MODEL_H

#include <stdatomic.h>

#include "core/graph.h"
#include "core/packed.h"

struct venseg_model {
    atomic_int refs; /* the caller's handle + one per live session */
    vs_file file;
    vs_graph graph;
    int in_width, in_height, in_channels;
    double scale, mean[3], std[3];
    int letterbox;
    int n_classes;
    const char *const *class_names; /* into file metadata */
    int softmax;
    double threshold;
    vs_packed_store packed; /* backends' packed weights: made on first use, shared by all sessions */
};

void vs_model_retain(venseg_model *m);
void vs_model_release(venseg_model *m);

#endif
