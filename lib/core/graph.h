/* The network as a list of fused ops, built in code from the file's metadata. */
#ifndef VENSEG_GRAPH_H
#define VENSEG_GRAPH_H

#include "core/model_file.h"

typedef enum vs_op {
    VS_OP_CONV,       /* y = act(conv(x) + bias [+ residual]) */
    VS_OP_CONVT,      /* y = act(conv_transpose(x) + bias) */
    VS_OP_AFFINE,     /* y = act(x * scale[c] + shift[c]) (a standalone, folded BN) */
    VS_OP_MAXPOOL,    /* k x k, stride, padding with -inf */
    VS_OP_UPSAMPLE2X, /* nearest neighbour x2 */
    VS_OP_CONCAT      /* channels of in[0] then in[1] */
} vs_op;

typedef struct vs_node {
    vs_op op;
    int in[2];  /* value ids; in[1] is the residual (CONV) or second part (CONCAT), -1 if none */
    int out;
    int relu;
    int cin, cout, kernel, stride, pad;
    /* CONV [cout][cin][k][k]; CONVT [cin][cout][k][k]: as stored in the file (q8, f16,
     * bf16 or f32); backends take f32 through vs_node_weights / vs_node_weight_f32 */
    const vs_tensor *weight;
    const float *fold;   /* [cout] factor of a folded BN, applied to the weights in f32; NULL if none */
    const float *bias;   /* [cout] or NULL (a folded BN's shift included); AFFINE: shift */
    const float *scale;  /* AFFINE [cin] */
    const char *name;    /* for error messages */
} vs_node;

typedef struct vs_graph {
    vs_node *nodes;
    int n_nodes, cap_nodes;
    int n_values;       /* value 0 is the input */
    int *channels;      /* per value */
    int output;         /* logits value */
    int input_channels;
    int multiple;       /* input H and W must be multiples of it */
    float **owned;      /* f32 biases, BN scales and shifts (small; weights stay in the file's form) */
    int n_owned, cap_owned;
    size_t owned_bytes;
    int64_t parameter_count;
} vs_graph;

/* Builds the graph; every tensor of the file must be used and every shape must match. */
venseg_status vs_graph_build(vs_file *file, vs_graph *g);
void vs_graph_release(vs_graph *g);

/* Elements of a CONV / CONVT node's weights (0 for other ops). */
size_t vs_node_weight_count(const vs_node *n);
/* The node's f32 weights, BN folded, into dst[vs_node_weight_count(n)]: the same bits
 * for every backend and every call (the stored value decoded, then times fold[o]). */
void vs_node_weight_f32(const vs_node *n, float *dst);
/* The f32 weights: the file's own bytes when they already are f32 with nothing folded
 * (*owned = NULL), else a new buffer in *owned that the caller frees once it has packed
 * them. NULL when out of memory. */
const float *vs_node_weights(const vs_node *n, float **owned);

/* Output spatial size of a node for an input size, or -1 when the op cannot apply. */
int vs_node_out_size(const vs_node *n, int in_size);

#endif
