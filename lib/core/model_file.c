/* Reader of the .vseg weights container. Every count, offset and size is checked
 * before use; any inconsistency is VENSEG_E_BAD_FILE with the reason. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "core/model_file.h"

enum {
    MAX_KV = 4096,
    MAX_TENSORS = 65536,
    MAX_NAME = 255,
    MAX_STRING = 65536,
    MAX_ARRAY = 65536,
    MAX_ALIGN = 4096,
    MIN_ALIGN = 16
};
#define MAX_TENSOR_ELEMENTS (INT64_C(1) << 31)
#define MAX_RAW_BLOB (UINT64_C(1) << 32)

typedef struct cursor {
    const uint8_t *base;
    size_t pos, end;
} cursor;

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const uint8_t *p) { return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32; }

static int take(cursor *c, size_t n, const uint8_t **p)
{
    if (n > c->end - c->pos) return 0;
    *p = c->base + c->pos;
    c->pos += n;
    return 1;
}

static venseg_status truncated(const cursor *c, const char *what)
{
    return vs_fail(VENSEG_E_BAD_FILE, "weights file: metadata ends inside %s at byte %zu", what, c->pos);
}

static venseg_status read_u32(cursor *c, uint32_t *v, const char *what)
{
    const uint8_t *p;
    if (!take(c, 4, &p)) return truncated(c, what);
    *v = le32(p);
    return VENSEG_OK;
}

static venseg_status read_u64(cursor *c, uint64_t *v, const char *what)
{
    const uint8_t *p;
    if (!take(c, 8, &p)) return truncated(c, what);
    *v = le64(p);
    return VENSEG_OK;
}

/* A length-prefixed string; identifiers are restricted to [A-Za-z0-9_.]. */
static venseg_status read_string(cursor *c, char **out, int identifier, const char *what)
{
    uint32_t len = 0;
    venseg_status st = read_u32(c, &len, what);
    if (st) return st;
    uint32_t max = identifier ? MAX_NAME : MAX_STRING;
    if (len > max || (identifier && len == 0))
        return vs_fail(VENSEG_E_BAD_FILE, "weights file: %s length %u at byte %zu outside [%d, %u]", what,
                       len, c->pos - 4, identifier ? 1 : 0, max);
    const uint8_t *p;
    if (!take(c, len, &p)) return truncated(c, what);
    for (uint32_t i = 0; i < len; i++) {
        uint8_t ch = p[i];
        int ok = identifier ? ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                               (ch >= '0' && ch <= '9') || ch == '_' || ch == '.')
                            : ch != 0;
        if (!ok)
            return vs_fail(VENSEG_E_BAD_FILE, "weights file: invalid character 0x%02x in %s at byte %zu", ch,
                           what, c->pos - len + i);
    }
    char *s = malloc((size_t)len + 1);
    if (!s) return vs_fail(VENSEG_E_OUT_OF_MEMORY, "weights file: out of memory");
    memcpy(s, p, len);
    s[len] = '\0';
    *out = s;
    return VENSEG_OK;
}

static void kv_release(vs_kv *kv)
{
    free(kv->key);
    free(kv->str);
    free(kv->i64s);
    free(kv->f64s);
    if (kv->strs)
        for (uint32_t i = 0; i < kv->count; i++) free(kv->strs[i]);
    free(kv->strs);
    memset(kv, 0, sizeof *kv);
}

static venseg_status read_kv(cursor *c, vs_kv *kv)
{
    venseg_status st = read_string(c, &kv->key, 1, "metadata key");
    if (st) return st;
    uint32_t type = 0;
    if ((st = read_u32(c, &type, "metadata type"))) return st;
    uint64_t u = 0;
    switch (type) {
    case VS_KV_I64:
        if ((st = read_u64(c, &u, "metadata value"))) return st;
        kv->i64 = (int64_t)u;
        break;
    case VS_KV_F64:
        if ((st = read_u64(c, &u, "metadata value"))) return st;
        memcpy(&kv->f64, &u, sizeof u);
        break;
    case VS_KV_STR:
        if ((st = read_string(c, &kv->str, 0, "metadata string"))) return st;
        break;
    case VS_KV_I64_ARRAY:
    case VS_KV_F64_ARRAY:
    case VS_KV_STR_ARRAY: {
        if ((st = read_u32(c, &kv->count, "metadata array count"))) return st;
        if (kv->count > MAX_ARRAY)
            return vs_fail(VENSEG_E_BAD_FILE, "weights file: array '%s' has %u elements (max %d)", kv->key,
                           kv->count, MAX_ARRAY);
        size_t n = kv->count ? kv->count : 1;
        if (type == VS_KV_STR_ARRAY) {
            kv->strs = calloc(n, sizeof *kv->strs);
            if (!kv->strs) return vs_fail(VENSEG_E_OUT_OF_MEMORY, "weights file: out of memory");
            for (uint32_t i = 0; i < kv->count; i++)
                if ((st = read_string(c, &kv->strs[i], 0, "metadata string"))) return st;
        } else {
            if ((size_t)kv->count * 8 > c->end - c->pos) return truncated(c, "metadata array");
            if (type == VS_KV_I64_ARRAY) kv->i64s = malloc(n * sizeof *kv->i64s);
            else kv->f64s = malloc(n * sizeof *kv->f64s);
            if (!kv->i64s && !kv->f64s) return vs_fail(VENSEG_E_OUT_OF_MEMORY, "weights file: out of memory");
            for (uint32_t i = 0; i < kv->count; i++) {
                read_u64(c, &u, "metadata array");
                if (kv->i64s) kv->i64s[i] = (int64_t)u;
                else memcpy(&kv->f64s[i], &u, sizeof u);
            }
        }
        break;
    }
    default:
        return vs_fail(VENSEG_E_BAD_FILE, "weights file: metadata '%s' has unknown type %u", kv->key, type);
    }
    kv->type = (vs_kv_type)type;
    if ((type == VS_KV_F64 && !isfinite(kv->f64))) 
        return vs_fail(VENSEG_E_BAD_FILE, "weights file: metadata '%s' is not a finite number", kv->key);
    if (type == VS_KV_F64_ARRAY)
        for (uint32_t i = 0; i < kv->count; i++)
            if (!isfinite(kv->f64s[i]))
                return vs_fail(VENSEG_E_BAD_FILE, "weights file: metadata '%s'[%u] is not finite", kv->key, i);
    return VENSEG_OK;
}

typedef struct dir_entry {
    uint64_t offset, nbytes;
    size_t index;
} dir_entry;

static int by_offset(const void *a, const void *b)
{
    const dir_entry *x = a, *y = b;
    return x->offset < y->offset ? -1 : x->offset > y->offset;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static venseg_status read_tensor(cursor *c, vs_tensor *t, uint64_t *offset, uint64_t *nbytes, uint32_t align)
{
    venseg_status st = read_string(c, &t->name, 1, "tensor name");
    if (st) return st;
    uint32_t dtype = 0, ndim = 0;
    if ((st = read_u32(c, &dtype, "tensor dtype")) || (st = read_u32(c, &ndim, "tensor rank"))) return st;
    if (dtype > VS_DT_Q8)
        return vs_fail(VENSEG_E_BAD_FILE, "weights file: tensor '%s' has unknown dtype %u", t->name, dtype);
    if (ndim < 1 || ndim > 4)
        return vs_fail(VENSEG_E_BAD_FILE, "weights file: tensor '%s' has rank %u (1..4 allowed)", t->name, ndim);
    t->dtype = (vs_dtype)dtype;
    t->ndim = (int)ndim;
    uint64_t numel = 1;
    for (uint32_t i = 0; i < ndim; i++) {
        uint64_t d = 0;
        if ((st = read_u64(c, &d, "tensor dims"))) return st;
        if (d < 1 || d > (uint64_t)MAX_TENSOR_ELEMENTS || numel * d > (uint64_t)MAX_TENSOR_ELEMENTS)
            return vs_fail(VENSEG_E_BAD_FILE, "weights file: tensor '%s' dimension %u = %llu out of range", t->name,
                           i, (unsigned long long)d);
        numel *= d;
        t->dims[i] = (int64_t)d;
    }
    t->numel = (size_t)numel;
    if ((st = read_u64(c, offset, "tensor offset")) || (st = read_u64(c, nbytes, "tensor size"))) return st;
    uint64_t expect;
    switch (t->dtype) {
    case VS_DT_F32: expect = 4 * numel; break;
    case VS_DT_F16:
    case VS_DT_BF16: expect = 2 * numel; break;
    default: expect = ((numel + 3) & ~UINT64_C(3)) + 4 * (uint64_t)t->dims[0]; break;
    }
    if (*nbytes != expect)
        return vs_fail(VENSEG_E_BAD_FILE, "weights file: tensor '%s' has %llu bytes, its shape and dtype need %llu",
                       t->name, (unsigned long long)*nbytes, (unsigned long long)expect);
    if (*offset % align)
        return vs_fail(VENSEG_E_BAD_FILE, "weights file: tensor '%s' offset %llu is not %u-byte aligned", t->name,
                       (unsigned long long)*offset, align);
    return VENSEG_OK;
}

/* Elements [from, from + count) of t as f32: the one decoding of every stored dtype. */
static void to_f32(const vs_tensor *t, size_t from, size_t count, float *dst)
{
    const uint8_t *p = t->bytes;
    switch (t->dtype) {
    case VS_DT_F32:
        for (size_t i = 0; i < count; i++) {
            uint32_t u = le32(p + 4 * (from + i));
            memcpy(&dst[i], &u, 4);
        }
        break;
    case VS_DT_F16:
        for (size_t i = 0, k = from; i < count; i++, k++)
            dst[i] = vs_half_to_float((uint16_t)(p[2 * k] | p[2 * k + 1] << 8));
        break;
    case VS_DT_BF16:
        for (size_t i = 0, k = from; i < count; i++, k++)
            dst[i] = vs_bf16_to_float((uint16_t)(p[2 * k] | p[2 * k + 1] << 8));
        break;
    case VS_DT_Q8: {
        const uint8_t *scales = p + ((t->numel + 3) & ~(size_t)3);
        const size_t per_row = t->numel / (size_t)t->dims[0];
        size_t row = from / per_row, col = from % per_row;
        float s = 0.0f;
        for (size_t i = 0; i < count; i++, col++) {
            if (i == 0 || col == per_row) {
                if (i) row++, col = 0;
                uint32_t u = le32(scales + 4 * row);
                memcpy(&s, &u, 4);
            }
            dst[i] = (float)(int8_t)p[from + i] * s;
        }
        break;
    }
    }
}

void vs_tensor_to_f32(const vs_tensor *t, float *dst) { to_f32(t, 0, t->numel, dst); }

const float *vs_tensor_f32_view(const vs_tensor *t)
{
    const uint32_t one = 1;
    unsigned char little;
    memcpy(&little, &one, 1);
    return t->dtype == VS_DT_F32 && little ? (const float *)(const void *)t->bytes : NULL;
}

size_t vs_tensor_stored_bytes(const vs_tensor *t)
{
    switch (t->dtype) {
    case VS_DT_F32: return 4 * t->numel;
    case VS_DT_F16:
    case VS_DT_BF16: return 2 * t->numel;
    default: return ((t->numel + 3) & ~(size_t)3) + 4 * (size_t)t->dims[0];
    }
}

/* Points t at its stored bytes and checks that every element decodes to a finite f32
 * (in chunks: the model keeps the stored form, docs/memory.md). */
static venseg_status check_tensor(vs_tensor *t, const uint8_t *p)
{
    t->bytes = p;
    if (t->dtype == VS_DT_Q8) {
        const uint8_t *scales = p + ((t->numel + 3) & ~(size_t)3);
        for (int64_t r = 0; r < t->dims[0]; r++) {
            uint32_t u = le32(scales + 4 * r);
            float s;
            memcpy(&s, &u, 4);
            if (!isfinite(s))
                return vs_fail(VENSEG_E_BAD_FILE, "weights file: tensor '%s' has a non-finite scale", t->name);
        }
    }
    float chunk[1024];
    for (size_t from = 0; from < t->numel; from += 1024) {
        size_t n = t->numel - from < 1024 ? t->numel - from : 1024;
        to_f32(t, from, n, chunk);
        for (size_t i = 0; i < n; i++)
            if (!isfinite(chunk[i]))
                return vs_fail(VENSEG_E_BAD_FILE, "weights file: tensor '%s' element %zu is not finite", t->name,
                               from + i);
    }
    return VENSEG_OK;
}

static venseg_status inflate_blob(const uint8_t *src, size_t stored, uint8_t *dst, size_t raw)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (inflateInit(&zs) != Z_OK) return vs_fail(VENSEG_E_OUT_OF_MEMORY, "weights file: inflateInit failed");
    venseg_status st = VENSEG_OK;
    size_t in_done = 0, out_done = 0;
    int rc = Z_OK;
    while (rc == Z_OK) { /* chunks keep avail_* within uInt */
        uInt in_chunk = (uInt)((stored - in_done) > (1u << 30) ? (1u << 30) : (stored - in_done));
        uInt out_chunk = (uInt)((raw - out_done) > (1u << 30) ? (1u << 30) : (raw - out_done));
        zs.next_in = (Bytef *)(uintptr_t)(src + in_done);
        zs.avail_in = in_chunk;
        zs.next_out = dst + out_done;
        zs.avail_out = out_chunk;
        rc = inflate(&zs, Z_FINISH);
        in_done += in_chunk - zs.avail_in;
        out_done += out_chunk - zs.avail_out;
        if (rc == Z_BUF_ERROR && (in_done < stored && out_done < raw)) rc = Z_OK;
        if (rc == Z_OK && in_chunk == zs.avail_in && out_chunk == zs.avail_out) break; /* no progress */
    }
    if (rc != Z_STREAM_END)
        st = vs_fail(VENSEG_E_BAD_FILE, "weights file: deflated data is corrupt (%s)", zs.msg ? zs.msg : "truncated");
    else if (out_done != raw || in_done != stored)
        st = vs_fail(VENSEG_E_BAD_FILE, "weights file: deflated data inflates to %zu bytes from %zu, header says %zu from %zu",
                     out_done, in_done, raw, stored);
    inflateEnd(&zs);
    return st;
}

static venseg_status parse(const uint8_t *bytes, size_t size, vs_file *f, uint64_t **offsets_owned)
{
    if (size < VS_HEADER_SIZE)
        return vs_fail(VENSEG_E_BAD_FILE, "weights file: %zu bytes, shorter than the %d-byte header", size,
                       VS_HEADER_SIZE);
    if (memcmp(bytes, "VSEG", 4) != 0)
        return vs_fail(VENSEG_E_BAD_FILE, "weights file: bad magic (not a libvenseg .vseg file)");
    uint32_t version = le32(bytes + 4), flags = le32(bytes + 8), align = le32(bytes + 12);
    if (version != VS_FILE_VERSION)
        return vs_fail(VENSEG_E_FILE_VERSION, "weights file: format version %u, this build reads version %d", version,
                       VS_FILE_VERSION);
    uint64_t n_kv = le64(bytes + 16), n_tensors = le64(bytes + 24), meta_size = le64(bytes + 32);
    uint64_t data_offset = le64(bytes + 40), stored = le64(bytes + 48), raw = le64(bytes + 56);
    uint32_t data_crc = le32(bytes + 64), meta_crc = le32(bytes + 68);
    if (flags & ~1u) return vs_fail(VENSEG_E_BAD_FILE, "weights file: unknown flags 0x%x", flags);
    if (align < MIN_ALIGN || align > MAX_ALIGN || (align & (align - 1)))
        return vs_fail(VENSEG_E_BAD_FILE, "weights file: alignment %u is not a power of two in [%d, %d]", align,
                       MIN_ALIGN, MAX_ALIGN);
    if (le64(bytes + 72) != 0) return vs_fail(VENSEG_E_BAD_FILE, "weights file: reserved header field is not zero");
    if (n_kv > MAX_KV || n_tensors > MAX_TENSORS)
        return vs_fail(VENSEG_E_BAD_FILE, "weights file: %llu metadata entries / %llu tensors exceed the limits (%d / %d)",
                       (unsigned long long)n_kv, (unsigned long long)n_tensors, MAX_KV, MAX_TENSORS);
    if (meta_size > size - VS_HEADER_SIZE)
        return vs_fail(VENSEG_E_BAD_FILE, "weights file: metadata size %llu runs past the end of the %zu-byte file",
                       (unsigned long long)meta_size, size);
    if (data_offset % align || data_offset < VS_HEADER_SIZE + meta_size || data_offset > size ||
        stored != size - data_offset)
        return vs_fail(VENSEG_E_BAD_FILE,
                       "weights file: data at %llu with %llu bytes does not fit the %zu-byte file (truncated?)",
                       (unsigned long long)data_offset, (unsigned long long)stored, size);
    if (raw > MAX_RAW_BLOB || (!(flags & 1u) && raw != stored))
        return vs_fail(VENSEG_E_BAD_FILE, "weights file: raw data size %llu is inconsistent", (unsigned long long)raw);
    /* deflate expands at most 1032:1: a larger raw size would cost its whole allocation
     * before inflate could refute it (found by tests/fuzz) */
    if ((flags & 1u) && raw / 1032 > stored)
        return vs_fail(VENSEG_E_BAD_FILE,
                       "weights file: raw data size %llu is more than deflate can expand %llu stored bytes to",
                       (unsigned long long)raw, (unsigned long long)stored);
    uLong crc = crc32(0L, bytes, 68);
    crc = crc32(crc, bytes + VS_HEADER_SIZE, (uInt)meta_size);
    if ((uint32_t)crc != meta_crc)
        return vs_fail(VENSEG_E_BAD_FILE, "weights file: header/metadata CRC32 mismatch (file corrupted)");
    for (uint64_t i = VS_HEADER_SIZE + meta_size; i < data_offset; i++)
        if (bytes[i]) return vs_fail(VENSEG_E_BAD_FILE, "weights file: non-zero padding byte at %llu", (unsigned long long)i);

    cursor c = {bytes, VS_HEADER_SIZE, VS_HEADER_SIZE + (size_t)meta_size};
    venseg_status st;
    f->kvs = calloc(n_kv ? n_kv : 1, sizeof *f->kvs);
    f->tensors = calloc(n_tensors ? n_tensors : 1, sizeof *f->tensors);
    if (!f->kvs || !f->tensors) return vs_fail(VENSEG_E_OUT_OF_MEMORY, "weights file: out of memory");
    for (uint64_t i = 0; i < n_kv; i++) {
        f->n_kv = i + 1;
        if ((st = read_kv(&c, &f->kvs[i]))) return st;
        for (uint64_t j = 0; j < i; j++)
            if (!strcmp(f->kvs[j].key, f->kvs[i].key))
                return vs_fail(VENSEG_E_BAD_FILE, "weights file: duplicate metadata key '%s'", f->kvs[i].key);
    }
    dir_entry *dir = calloc(n_tensors ? n_tensors : 1, sizeof *dir);
    if (!dir) return vs_fail(VENSEG_E_OUT_OF_MEMORY, "weights file: out of memory");
    *offsets_owned = malloc((n_tensors ? n_tensors : 1) * sizeof **offsets_owned);
    if (!*offsets_owned) { free(dir); return vs_fail(VENSEG_E_OUT_OF_MEMORY, "weights file: out of memory"); }
    uint64_t *offsets = *offsets_owned;
    st = VENSEG_OK;
    for (uint64_t i = 0; i < n_tensors && !st; i++) {
        f->n_tensors = i + 1;
        dir[i].index = i;
        st = read_tensor(&c, &f->tensors[i], &dir[i].offset, &dir[i].nbytes, align);
        if (!st && (dir[i].offset > raw || dir[i].nbytes > raw - dir[i].offset))
            st = vs_fail(VENSEG_E_BAD_FILE, "weights file: tensor '%s' lies outside the data blob", f->tensors[i].name);
    }
    if (!st && c.pos != c.end)
        st = vs_fail(VENSEG_E_BAD_FILE, "weights file: %zu unexplained bytes after the tensor directory", c.end - c.pos);
    for (uint64_t i = 0; i < f->n_tensors; i++) offsets[i] = dir[i].offset;
    if (!st) {
        qsort(dir, (size_t)n_tensors, sizeof *dir, by_offset);
        for (uint64_t i = 1; i < n_tensors && !st; i++)
            if (dir[i].offset < dir[i - 1].offset + dir[i - 1].nbytes)
                st = vs_fail(VENSEG_E_BAD_FILE, "weights file: tensors '%s' and '%s' overlap",
                             f->tensors[dir[i - 1].index].name, f->tensors[dir[i].index].name);
        const char **names = malloc((n_tensors ? n_tensors : 1) * sizeof *names);
        if (!names) st = vs_fail(VENSEG_E_OUT_OF_MEMORY, "weights file: out of memory");
        for (uint64_t i = 0; i < n_tensors && !st; i++) names[i] = f->tensors[i].name;
        if (!st) qsort(names, (size_t)n_tensors, sizeof *names, by_name);
        for (uint64_t i = 1; i < n_tensors && !st; i++)
            if (!strcmp(names[i - 1], names[i]))
                st = vs_fail(VENSEG_E_BAD_FILE, "weights file: duplicate tensor '%s'", names[i]);
        free(names);
    }
    free(dir);
    if (st) return st;

    const uint8_t *blob = bytes + data_offset;
    uint8_t *buf = malloc(raw ? (size_t)raw : 1); /* the model keeps the tensors as stored */
    if (!buf) return vs_fail(VENSEG_E_OUT_OF_MEMORY, "weights file: out of memory for %llu bytes of tensor data",
                             (unsigned long long)raw);
    f->blob = buf;
    f->blob_size = (size_t)raw;
    if (flags & 1u) {
        if ((st = inflate_blob(blob, (size_t)stored, buf, (size_t)raw))) return st;
    } else if (raw) {
        memcpy(buf, blob, (size_t)raw);
    }
    blob = buf;
    uLong dcrc = crc32(0L, Z_NULL, 0);
    for (uint64_t done = 0; done < raw;) {
        uInt n = (uInt)((raw - done) > (1u << 30) ? (1u << 30) : (raw - done));
        dcrc = crc32(dcrc, blob + done, n);
        done += n;
    }
    if ((uint32_t)dcrc != data_crc)
        return vs_fail(VENSEG_E_BAD_FILE, "weights file: tensor data CRC32 mismatch (file corrupted)");
    for (uint64_t i = 0; i < n_tensors; i++)
        if ((st = check_tensor(&f->tensors[i], blob + offsets[i]))) return st;
    return VENSEG_OK;
}

venseg_status vs_file_parse(const uint8_t *bytes, size_t size, vs_file *out)
{
    memset(out, 0, sizeof *out);
    uint64_t *offsets = NULL;
    venseg_status st = parse(bytes, size, out, &offsets);
    free(offsets);
    if (st) vs_file_release(out);
    return st;
}

void vs_file_release(vs_file *f)
{
    for (size_t i = 0; i < f->n_kv; i++) kv_release(&f->kvs[i]);
    for (size_t i = 0; i < f->n_tensors; i++) {
        free(f->tensors[i].name);
    }
    free(f->blob);
    free(f->kvs);
    free(f->tensors);
    memset(f, 0, sizeof *f);
}

const vs_kv *vs_file_find(const vs_file *f, const char *key)
{
    for (size_t i = 0; i < f->n_kv; i++)
        if (!strcmp(f->kvs[i].key, key)) return &f->kvs[i];
    return NULL;
}

vs_tensor *vs_file_tensor(const vs_file *f, const char *name)
{
    for (size_t i = 0; i < f->n_tensors; i++)
        if (!strcmp(f->tensors[i].name, name)) return &f->tensors[i];
    return NULL;
}
