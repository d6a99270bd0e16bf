/* Reader of the .vseg weights container (docs/weights-format.md). */
#ifndef VENSEG_MODEL_FILE_H
#define VENSEG_MODEL_FILE_H

#include "core/internal.h"

enum { VS_FILE_VERSION = 1, VS_HEADER_SIZE = 80 };

typedef enum vs_kv_type {
    VS_KV_I64 = 1,
    VS_KV_F64 = 2,
    VS_KV_STR = 3,
    VS_KV_I64_ARRAY = 4,
    VS_KV_F64_ARRAY = 5,
    VS_KV_STR_ARRAY = 6
} vs_kv_type;

typedef enum vs_dtype { VS_DT_F32 = 0, VS_DT_F16 = 1, VS_DT_BF16 = 2, VS_DT_Q8 = 3 } vs_dtype;

typedef struct vs_kv {
    char *key;
    vs_kv_type type;
    uint32_t count; /* elements of an array */
    int64_t i64;
    double f64;
    char *str;
    int64_t *i64s;
    double *f64s;
    char **strs;
} vs_kv;

typedef struct vs_tensor {
    char *name;
    vs_dtype dtype;
    int ndim;
    int64_t dims[4];
    size_t numel;
    const uint8_t *bytes; /* as stored (little-endian; q8: int8 values, then f32 row scales), in the file's blob */
    int used;             /* set by the graph builder */
} vs_tensor;

typedef struct vs_file {
    vs_kv *kvs;
    size_t n_kv;
    vs_tensor *tensors;
    size_t n_tensors;
    uint8_t *blob; /* every tensor's stored bytes (inflated when the file is deflated); owned */
    size_t blob_size;
} vs_file;

/* Parses and validates a whole file image; on failure *out is left empty. */
venseg_status vs_file_parse(const uint8_t *bytes, size_t size, vs_file *out);
void vs_file_release(vs_file *f);
const vs_kv *vs_file_find(const vs_file *f, const char *key);
vs_tensor *vs_file_tensor(const vs_file *f, const char *name);

/* The tensor decoded to f32 into dst[numel] (q8: int8 * its row's scale, f16/bf16
 * widened): the model keeps the compact stored form, and f32 is made only where a
 * backend needs it (docs/memory.md). */
void vs_tensor_to_f32(const vs_tensor *t, float *dst);
/* The stored bytes as f32 when they already are (F32 on a little-endian host), else NULL. */
const float *vs_tensor_f32_view(const vs_tensor *t);
size_t vs_tensor_stored_bytes(const vs_tensor *t);

#endif
