/* Builds the network from the file's metadata (docs/weights-format.md): ResNet-UNet in
 * torchvision (post-activation) and Keras (pre-activation) styles, and the plain UNet.
 * BN that directly follows a convolution is folded into it here; other BNs become
 * per-channel affine ops. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/graph.h"

typedef struct builder {
    vs_file *file;
    vs_graph *g;
    venseg_status st; /* first error; later calls become no-ops */
    double eps;       /* BN epsilon of the part being built */
} builder;

static int fail(builder *b, venseg_status st, const char *fmt, const char *arg)
{
    if (!b->st) b->st = vs_fail(st, fmt, arg);
    return -1;
}

static void *grow(void *p, int *cap, int need, size_t elem)
{
    if (need <= *cap) return p;
    int ncap = *cap ? *cap * 2 : 64;
    while (ncap < need) ncap *= 2;
    void *q = realloc(p, (size_t)ncap * elem);
    if (q) *cap = ncap;
    return q;
}

static float *owned_floats(builder *b, size_t n)
{
    vs_graph *g = b->g;
    float **o = grow(g->owned, &g->cap_owned, g->n_owned + 1, sizeof *o);
    float *p = malloc((n ? n : 1) * sizeof *p);
    if (!o || !p) {
        if (o) g->owned = o;
        free(p);
        fail(b, VENSEG_E_OUT_OF_MEMORY, "model: out of memory%s", "");
        return NULL;
    }
    g->owned = o;
    g->owned[g->n_owned++] = p;
    g->owned_bytes += n * sizeof *p;
    return p;
}

static int new_value(builder *b, int channels)
{
    vs_graph *g = b->g;
    int *c = realloc(g->channels, (size_t)(g->n_values + 1) * sizeof *c);
    if (!c) return fail(b, VENSEG_E_OUT_OF_MEMORY, "model: out of memory%s", "");
    g->channels = c;
    g->channels[g->n_values] = channels;
    return g->n_values++;
}

static vs_node *add_node(builder *b, vs_op op, int in0, int in1, int out_channels)
{
    if (b->st) return NULL;
    vs_graph *g = b->g;
    vs_node *nodes = grow(g->nodes, &g->cap_nodes, g->n_nodes + 1, sizeof *nodes);
    if (!nodes) {
        fail(b, VENSEG_E_OUT_OF_MEMORY, "model: out of memory%s", "");
        return NULL;
    }
    g->nodes = nodes;
    int out = new_value(b, out_channels);
    if (out < 0) return NULL;
    vs_node *n = &g->nodes[g->n_nodes++];
    memset(n, 0, sizeof *n);
    n->op = op;
    n->in[0] = in0;
    n->in[1] = in1;
    n->out = out;
    n->cin = in0 >= 0 ? g->channels[in0] : 0;
    n->cout = out_channels;
    n->name = "";
    return n;
}

/* A tensor of the expected shape; optional ones may be absent (NULL, no error). */
static vs_tensor *tensor(builder *b, const char *base, const char *suffix, int optional, int ndim, int64_t d0,
                         int64_t d1, int64_t d2, int64_t d3)
{
    if (b->st) return NULL;
    char name[300];
    snprintf(name, sizeof name, "%s%s", base, suffix);
    vs_tensor *t = vs_file_tensor(b->file, name);
    if (!t) {
        if (!optional) fail(b, VENSEG_E_BAD_MODEL, "model: tensor '%s' is missing", name);
        return NULL;
    }
    int64_t want[4] = {d0, d1, d2, d3};
    int ok = t->ndim == ndim;
    for (int i = 0; ok && i < ndim; i++) ok = t->dims[i] == want[i];
    if (!ok) {
        char msg[512];
        snprintf(msg, sizeof msg, "model: tensor '%s' has shape [%lld,%lld,%lld,%lld](rank %d), expected [%lld,%lld,%lld,%lld](rank %d)",
                 name, (long long)t->dims[0], (long long)(t->ndim > 1 ? t->dims[1] : 0),
                 (long long)(t->ndim > 2 ? t->dims[2] : 0), (long long)(t->ndim > 3 ? t->dims[3] : 0), t->ndim,
                 (long long)d0, (long long)d1, (long long)d2, (long long)d3, ndim);
        fail(b, VENSEG_E_BAD_MODEL, "%s", msg);
        return NULL;
    }
    if (t->used) {
        fail(b, VENSEG_E_BAD_MODEL, "model: tensor '%s' used twice", name);
        return NULL;
    }
    t->used = 1;
    return t;
}

/* The f32 values of a small (1-D) tensor, owned by the graph. */
static float *tensor_floats(builder *b, const vs_tensor *t)
{
    float *p = owned_floats(b, t->numel);
    if (p) vs_tensor_to_f32(t, p);
    return p;
}

/* Per-channel scale and shift of a BN layer, or 0 when the layer is absent. */
static int batchnorm(builder *b, const char *bn, int channels, int required, float **scale, float **shift)
{
    vs_tensor *gamma = tensor(b, bn, ".weight", 1, 1, channels, 0, 0, 0);
    vs_tensor *beta = tensor(b, bn, ".bias", 1, 1, channels, 0, 0, 0);
    vs_tensor *mean = tensor(b, bn, ".running_mean", 1, 1, channels, 0, 0, 0);
    vs_tensor *var = tensor(b, bn, ".running_var", 1, 1, channels, 0, 0, 0);
    if (b->st) return 0;
    if (!gamma && !beta && !mean && !var) {
        if (required) fail(b, VENSEG_E_BAD_MODEL, "model: batch-norm '%s' is missing", bn);
        return 0;
    }
    if (!beta || !mean || !var) {
        fail(b, VENSEG_E_BAD_MODEL, "model: batch-norm '%s' lacks bias, running_mean or running_var", bn);
        return 0;
    }
    float *tmp = malloc(4 * (size_t)channels * sizeof *tmp); /* gamma, beta, mean, var as f32 */
    if (!tmp) {
        fail(b, VENSEG_E_OUT_OF_MEMORY, "model: out of memory%s", "");
        return 0;
    }
    float *g = tmp, *be = tmp + channels, *mu = tmp + 2 * (size_t)channels, *va = tmp + 3 * (size_t)channels;
    if (gamma) vs_tensor_to_f32(gamma, g);
    vs_tensor_to_f32(beta, be);
    vs_tensor_to_f32(mean, mu);
    vs_tensor_to_f32(var, va);
    *scale = owned_floats(b, (size_t)channels);
    *shift = owned_floats(b, (size_t)channels);
    for (int c = 0; c < channels && !b->st; c++) {
        double denom = (double)va[c] + b->eps;
        if (!(denom > 0)) {
            fail(b, VENSEG_E_BAD_MODEL, "model: batch-norm '%s' has a negative running variance", bn);
            break;
        }
        double s = (gamma ? g[c] : 1.0) / sqrt(denom);
        (*scale)[c] = (float)s;
        (*shift)[c] = (float)(be[c] - mu[c] * s);
    }
    free(tmp);
    return !b->st;
}

/* Convolution (or transposed convolution) with an optional following BN folded in:
 * the node keeps the stored weights and the BN's per-channel scale, and the folded f32
 * weights are made when a backend asks (vs_node_weight_f32). */
static int conv_bn(builder *b, int transpose, int x, const char *conv, const char *bn, int cout, int k, int stride,
                   int pad, int relu, int residual)
{
    if (b->st) return -1;
    int cin = b->g->channels[x];
    vs_tensor *w = transpose ? tensor(b, conv, ".weight", 0, 4, cin, cout, k, k)
                             : tensor(b, conv, ".weight", 0, 4, cout, cin, k, k);
    vs_tensor *bias = tensor(b, conv, ".bias", 1, 1, cout, 0, 0, 0);
    float *scale = NULL, *shift = NULL;
    int has_bn = bn ? batchnorm(b, bn, cout, 0, &scale, &shift) : 0;
    float *bias_f = bias && !b->st ? tensor_floats(b, bias) : NULL;
    vs_node *n = add_node(b, transpose ? VS_OP_CONVT : VS_OP_CONV, x, residual, cout);
    if (!n) return -1;
    n->kernel = k;
    n->stride = stride;
    n->pad = pad;
    n->relu = relu;
    n->name = w->name;
    n->weight = w;
    n->bias = bias_f;
    if (has_bn) {
        float *fb = owned_floats(b, (size_t)cout);
        if (!fb) return -1;
        for (int o = 0; o < cout; o++) fb[o] = (bias_f ? bias_f[o] : 0.0f) * scale[o] + shift[o];
        n->fold = scale;
        n->bias = fb;
    }
    return n->out;
}

static int affine(builder *b, int x, const char *bn, int relu)
{
    if (b->st) return -1;
    int c = b->g->channels[x];
    float *scale = NULL, *shift = NULL;
    batchnorm(b, bn, c, 1, &scale, &shift);
    vs_node *n = add_node(b, VS_OP_AFFINE, x, -1, c);
    if (!n) return -1;
    n->scale = scale;
    n->bias = shift;
    n->relu = relu;
    n->name = bn;
    return n->out;
}

static int simple(builder *b, vs_op op, int x, int y, int k, int stride, int pad)
{
    if (b->st) return -1;
    int c = b->g->channels[x] + (y >= 0 ? b->g->channels[y] : 0);
    vs_node *n = add_node(b, op, x, y, c);
    if (!n) return -1;
    n->kernel = k;
    n->stride = stride;
    n->pad = pad;
    return n->out;
}

/* ------------------------------------------------------------ metadata */

static int meta_str(builder *b, const char *key, const char *fallback, const char **out)
{
    const vs_kv *kv = vs_file_find(b->file, key);
    if (!kv) {
        if (!fallback) return fail(b, VENSEG_E_BAD_MODEL, "model: metadata '%s' is missing", key);
        *out = fallback;
        return 0;
    }
    if (kv->type != VS_KV_STR) return fail(b, VENSEG_E_BAD_MODEL, "model: metadata '%s' must be a string", key);
    *out = kv->str;
    return 0;
}

static int meta_int(builder *b, const char *key, int has_fallback, int64_t fallback, int64_t lo, int64_t hi,
                    int64_t *out)
{
    const vs_kv *kv = vs_file_find(b->file, key);
    if (!kv) {
        if (!has_fallback) return fail(b, VENSEG_E_BAD_MODEL, "model: metadata '%s' is missing", key);
        *out = fallback;
        return 0;
    }
    if (kv->type != VS_KV_I64) return fail(b, VENSEG_E_BAD_MODEL, "model: metadata '%s' must be an integer", key);
    if (kv->i64 < lo || kv->i64 > hi) return fail(b, VENSEG_E_BAD_MODEL, "model: metadata '%s' is out of range", key);
    *out = kv->i64;
    return 0;
}

static double meta_eps(builder *b, const char *key, double fallback)
{
    const vs_kv *kv = vs_file_find(b->file, key);
    if (!kv) return fallback;
    if (kv->type != VS_KV_F64 || !(kv->f64 >= 0) || kv->f64 > 1) {
        fail(b, VENSEG_E_BAD_MODEL, "model: metadata '%s' must be a number in [0, 1]", key);
        return fallback;
    }
    return kv->f64;
}

/* ------------------------------------------------------------ ResNet-UNet */

typedef struct resnet_spec {
    const char *name;
    int reps[4];
    int bottleneck;
} resnet_spec;

static const resnet_spec resnets[] = {
    {"resnet18", {2, 2, 2, 2}, 0},
    {"resnet34", {3, 4, 6, 3}, 0},
    {"resnet50", {3, 4, 6, 3}, 1},
};

/* Returns the head value; skips[0..3] = x16, x8, x4, x2 features. */
static int encoder_torchvision(builder *b, const resnet_spec *r, int x, int skips[4])
{
    char p[128], q[160], s[160];
    int f1 = conv_bn(b, 0, x, "encoder.conv1", "encoder.bn1", 64, 7, 2, 3, 1, -1);
    x = simple(b, VS_OP_MAXPOOL, f1, -1, 3, 2, 1);
    skips[3] = f1;
    for (int L = 1; L <= 4 && !b->st; L++) {
        int width = 64 << (L - 1), cout = r->bottleneck ? width * 4 : width;
        for (int u = 0; u < r->reps[L - 1] && !b->st; u++) {
            int stride = (u == 0 && L > 1) ? 2 : 1, cin = b->g->channels[x];
            snprintf(p, sizeof p, "encoder.layer%d.%d", L, u);
            int identity = x;
            if (stride != 1 || cin != cout) {
                snprintf(q, sizeof q, "%s.downsample.0", p);
                snprintf(s, sizeof s, "%s.downsample.1", p);
                identity = conv_bn(b, 0, x, q, s, cout, 1, stride, 0, 0, -1);
            }
            char c1[160], b1[160], c2[160], b2[160], c3[160], b3[160];
            snprintf(c1, sizeof c1, "%s.conv1", p);
            snprintf(b1, sizeof b1, "%s.bn1", p);
            snprintf(c2, sizeof c2, "%s.conv2", p);
            snprintf(b2, sizeof b2, "%s.bn2", p);
            if (r->bottleneck) {
                snprintf(c3, sizeof c3, "%s.conv3", p);
                snprintf(b3, sizeof b3, "%s.bn3", p);
                int h = conv_bn(b, 0, x, c1, b1, width, 1, 1, 0, 1, -1);
                h = conv_bn(b, 0, h, c2, b2, width, 3, stride, 1, 1, -1);
                x = conv_bn(b, 0, h, c3, b3, cout, 1, 1, 0, 1, identity);
            } else {
                int h = conv_bn(b, 0, x, c1, b1, width, 3, stride, 1, 1, -1);
                x = conv_bn(b, 0, h, c2, b2, cout, 3, 1, 1, 1, identity);
            }
        }
        if (L < 4) skips[3 - L] = x;
    }
    return x;
}

static int encoder_keras(builder *b, const resnet_spec *r, int x, int skips[4])
{
    char p[128], n1[160], n2[160], n3[160], n4[160], n5[160], n6[160];
    x = affine(b, x, "encoder.bn_data", 0);
    int s1 = conv_bn(b, 0, x, "encoder.conv0", "encoder.bn0", 64, 7, 2, 3, 1, -1);
    skips[3] = s1;
    x = simple(b, VS_OP_MAXPOOL, s1, -1, 3, 2, 1);
    for (int S = 1; S <= 4 && !b->st; S++) {
        int width = 64 << (S - 1), cout = r->bottleneck ? width * 4 : width;
        for (int U = 1; U <= r->reps[S - 1] && !b->st; U++) {
            int stride = (U == 1 && S > 1) ? 2 : 1;
            snprintf(p, sizeof p, "encoder.stage%d_unit%d_", S, U);
            snprintf(n1, sizeof n1, "%sbn1", p);
            int t = affine(b, x, n1, 1);
            if (U == 1 && S > 1) skips[4 - S] = t;
            int shortcut = x;
            if (U == 1) {
                snprintf(n2, sizeof n2, "%ssc", p);
                shortcut = conv_bn(b, 0, t, n2, NULL, cout, 1, stride, 0, 0, -1);
            }
            snprintf(n3, sizeof n3, "%sconv1", p);
            snprintf(n4, sizeof n4, "%sbn2", p);
            snprintf(n5, sizeof n5, "%sconv2", p);
            if (r->bottleneck) {
                snprintf(n6, sizeof n6, "%sbn3", p);
                int h = conv_bn(b, 0, t, n3, n4, width, 1, 1, 0, 1, -1);
                h = conv_bn(b, 0, h, n5, n6, width, 3, stride, 1, 1, -1);
                snprintf(n6, sizeof n6, "%sconv3", p);
                x = conv_bn(b, 0, h, n6, NULL, cout, 1, 1, 0, 0, shortcut);
            } else {
                int h = conv_bn(b, 0, t, n3, n4, width, 3, stride, 1, 1, -1);
                x = conv_bn(b, 0, h, n5, NULL, cout, 3, 1, 1, 0, shortcut);
            }
        }
    }
    return affine(b, x, "encoder.bn1", 1);
}

static int build_resnet_unet(builder *b, int x, int classes)
{
    const char *enc_name = "", *style = "", *block = "";
    meta_str(b, "encoder.name", NULL, &enc_name);
    meta_str(b, "encoder.style", NULL, &style);
    meta_str(b, "decoder.block", "upsample", &block);
    if (b->st) return -1;
    const resnet_spec *r = NULL;
    for (size_t i = 0; i < sizeof resnets / sizeof resnets[0]; i++)
        if (!strcmp(resnets[i].name, enc_name)) r = &resnets[i];
    if (!r) return fail(b, VENSEG_E_BAD_MODEL, "model: unknown encoder.name '%s' (resnet18, resnet34, resnet50)", enc_name);
    int keras = !strcmp(style, "keras");
    if (!keras && strcmp(style, "torchvision"))
        return fail(b, VENSEG_E_BAD_MODEL, "model: unknown encoder.style '%s' (torchvision, keras)", style);
    int transpose = !strcmp(block, "transpose");
    if (!transpose && strcmp(block, "upsample"))
        return fail(b, VENSEG_E_BAD_MODEL, "model: unknown decoder.block '%s' (upsample, transpose)", block);

    int64_t channels[5] = {256, 128, 64, 32, 16};
    const vs_kv *kv = vs_file_find(b->file, "decoder.channels");
    if (kv) {
        if (kv->type != VS_KV_I64_ARRAY || kv->count != 5)
            return fail(b, VENSEG_E_BAD_MODEL, "model: metadata '%s' must be 5 integers", "decoder.channels");
        for (int i = 0; i < 5; i++) {
            if (kv->i64s[i] < 1 || kv->i64s[i] > 4096)
                return fail(b, VENSEG_E_BAD_MODEL, "model: metadata '%s' is out of range", "decoder.channels");
            channels[i] = kv->i64s[i];
        }
    }
    int64_t convs = 2, head_k = 3;
    meta_int(b, "decoder.convs_per_block", 1, transpose ? 1 : 2, 1, 2, &convs);
    meta_int(b, "head.kernel_size", 1, 3, 1, 3, &head_k);
    if (!b->st && head_k == 2) return fail(b, VENSEG_E_BAD_MODEL, "model: %s must be 1 or 3", "head.kernel_size");

    int skips[4] = {-1, -1, -1, -1};
    b->eps = meta_eps(b, "encoder.bn_eps", keras ? 2e-5 : 1e-5);
    x = keras ? encoder_keras(b, r, x, skips) : encoder_torchvision(b, r, x, skips);
    b->eps = meta_eps(b, "decoder.bn_eps", keras ? 1e-3 : 1e-5);
    char p[64], c[96], n[96];
    for (int i = 0; i < 5 && !b->st; i++) {
        int f = (int)channels[i];
        snprintf(p, sizeof p, "decoder.blocks.%d", i);
        if (transpose) {
            snprintf(c, sizeof c, "%s.up.0", p);
            snprintf(n, sizeof n, "%s.up.1", p);
            x = conv_bn(b, 1, x, c, n, f, 4, 2, 1, 1, -1);
        } else {
            x = simple(b, VS_OP_UPSAMPLE2X, x, -1, 0, 0, 0);
        }
        if (i < 4) x = simple(b, VS_OP_CONCAT, x, skips[i], 0, 0, 0);
        for (int k = 1; k <= convs; k++) {
            snprintf(c, sizeof c, "%s.conv%d.0", p, k);
            snprintf(n, sizeof n, "%s.conv%d.1", p, k);
            x = conv_bn(b, 0, x, c, n, f, 3, 1, 1, 1, -1);
        }
    }
    b->g->multiple = 32;
    return conv_bn(b, 0, x, "segmentation_head.0", NULL, classes, (int)head_k, 1, (int)head_k / 2, 0, -1);
}

static int build_plain_unet(builder *b, int x, int classes)
{
    int64_t base = 1, depth = 1;
    meta_int(b, "plain_unet.base_channels", 0, 0, 1, 1024, &base);
    meta_int(b, "plain_unet.depth", 0, 0, 1, 6, &depth);
    b->eps = meta_eps(b, "plain_unet.bn_eps", 1e-5);
    if (b->st) return -1;
    if ((base << depth) > 16384) return fail(b, VENSEG_E_BAD_MODEL, "model: %s", "plain UNet too wide");
    int levels[7];
    char c[64], n[64];
    for (int d = 0; d <= depth && !b->st; d++) {
        if (d > 0) x = simple(b, VS_OP_MAXPOOL, x, -1, 2, 2, 0);
        for (int k = 1; k <= 2; k++) {
            snprintf(c, sizeof c, "enc%d.conv%d", d, k);
            snprintf(n, sizeof n, "enc%d.bn%d", d, k);
            x = conv_bn(b, 0, x, c, n, (int)(base << d), 3, 1, 1, 1, -1);
        }
        levels[d] = x;
    }
    for (int d = (int)depth - 1; d >= 0 && !b->st; d--) {
        snprintf(c, sizeof c, "up%d", d);
        x = conv_bn(b, 1, x, c, NULL, (int)(base << d), 2, 2, 0, 0, -1);
        x = simple(b, VS_OP_CONCAT, x, levels[d], 0, 0, 0);
        for (int k = 1; k <= 2; k++) {
            snprintf(c, sizeof c, "dec%d.conv%d", d, k);
            snprintf(n, sizeof n, "dec%d.bn%d", d, k);
            x = conv_bn(b, 0, x, c, n, (int)(base << d), 3, 1, 1, 1, -1);
        }
    }
    b->g->multiple = 1 << depth;
    return conv_bn(b, 0, x, "head", NULL, classes, 1, 1, 0, 0, -1);
}

venseg_status vs_graph_build(vs_file *file, vs_graph *g)
{
    memset(g, 0, sizeof *g);
    builder b = {file, g, VENSEG_OK, 1e-5};
    const char *arch = "";
    int64_t channels = 1;
    meta_str(&b, "general.architecture", NULL, &arch);
    meta_int(&b, "input.channels", 0, 0, 1, 3, &channels);
    const vs_kv *classes = vs_file_find(file, "output.classes");
    if (!b.st && (!classes || classes->type != VS_KV_STR_ARRAY || classes->count < 1 || classes->count > 16))
        fail(&b, VENSEG_E_BAD_MODEL, "model: metadata '%s' must list 1..16 class names", "output.classes");
    if (!b.st && channels == 2) fail(&b, VENSEG_E_BAD_MODEL, "model: %s must be 1 or 3", "input.channels");
    if (b.st) return b.st;
    g->input_channels = (int)channels;
    int x = new_value(&b, (int)channels);
    if (!strcmp(arch, "resnet_unet")) g->output = build_resnet_unet(&b, x, (int)classes->count);
    else if (!strcmp(arch, "plain_unet")) g->output = build_plain_unet(&b, x, (int)classes->count);
    else fail(&b, VENSEG_E_BAD_MODEL, "model: unknown general.architecture '%s' (resnet_unet, plain_unet)", arch);
    for (size_t i = 0; i < file->n_tensors && !b.st; i++)
        if (!file->tensors[i].used)
            fail(&b, VENSEG_E_BAD_MODEL, "model: tensor '%s' is not part of the architecture", file->tensors[i].name);
    for (size_t i = 0; i < file->n_tensors; i++) {
        const char *nm = file->tensors[i].name;
        size_t len = strlen(nm);
        int stat = (len > 13 && !strcmp(nm + len - 13, ".running_mean")) || (len > 12 && !strcmp(nm + len - 12, ".running_var"));
        if (!stat) g->parameter_count += (int64_t)file->tensors[i].numel;
    }
    if (b.st) vs_graph_release(g);
    return b.st;
}

void vs_graph_release(vs_graph *g)
{
    for (int i = 0; i < g->n_owned; i++) free(g->owned[i]);
    free(g->owned);
    free(g->nodes);
    free(g->channels);
    memset(g, 0, sizeof *g);
}

size_t vs_node_weight_count(const vs_node *n) { return n->weight ? n->weight->numel : 0; }

void vs_node_weight_f32(const vs_node *n, float *dst)
{
    vs_tensor_to_f32(n->weight, dst);
    if (!n->fold) return;
    const int transpose = n->op == VS_OP_CONVT, cin = n->cin, cout = n->cout;
    const size_t per = (size_t)n->kernel * n->kernel;
    for (int i = 0; i < cin; i++)
        for (int o = 0; o < cout; o++) {
            size_t at = transpose ? ((size_t)i * cout + o) * per : ((size_t)o * cin + i) * per;
            for (size_t j = 0; j < per; j++) dst[at + j] = dst[at + j] * n->fold[o];
        }
}

const float *vs_node_weights(const vs_node *n, float **owned)
{
    *owned = NULL;
    const float *view = n->fold ? NULL : vs_tensor_f32_view(n->weight);
    if (view) return view;
    size_t bytes;
    if (!vs_mul_size(vs_node_weight_count(n), sizeof(float), &bytes) || !(*owned = malloc(bytes ? bytes : 1)))
        return NULL;
    vs_node_weight_f32(n, *owned);
    return *owned;
}

int vs_node_out_size(const vs_node *n, int s)
{
    switch (n->op) {
    case VS_OP_CONV:
    case VS_OP_MAXPOOL: {
        int span = s + 2 * n->pad - n->kernel;
        return span < 0 ? -1 : span / n->stride + 1;
    }
    case VS_OP_CONVT: return (s - 1) * n->stride - 2 * n->pad + n->kernel;
    case VS_OP_UPSAMPLE2X: return 2 * s;
    case VS_OP_AFFINE:
    case VS_OP_CONCAT: return s;
    }
    return -1;
}
