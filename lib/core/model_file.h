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
    float *data; /* dequantised to f32; owned */
    int used;    /* set by the graph builder */
} vs_tensor;

typedef struct vs_file {
    vs_kv *kvs;
    size_t n_kv;
    vs_tensor *tensors;
    size_t n_tensors;
} vs_file;

/* Parses and validates a whole file image; on failure *out is left empty. */
venseg_status vs_file_parse(const uint8_t *bytes, size_t size, vs_file *out);
void vs_file_release(vs_file *f);
const vs_kv *vs_file_find(const vs_file *f, const char *key);
vs_tensor *vs_file_tensor(const vs_file *f, const char *name);

#endif
