/* libFuzzer target: the weights reader and graph builder (venseg_model_load_memory).
 *
 * Input: one mode byte, then a .vseg file image. Mode bit 0 set: the header and data
 * CRC32s are recomputed first, so mutations get past the checksums into the metadata,
 * the tensor directory and the graph builder. A model that loads is queried, and when
 * it is small enough, segments one frame on the reference backend. */
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include <venseg/venseg.h>

#include "fuzz_input.h"

static uint32_t rd32(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }
static uint64_t rd64(const uint8_t *p) { return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32; }
static void wr32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}

/* Recomputes meta_crc32 and (uncompressed blobs only) data_crc32 where the header's
 * sizes allow it; otherwise leaves the file as it is. */
static void fix_crcs(uint8_t *f, size_t size)
{
    if (size < 80) return;
    uint64_t meta = rd64(f + 32), data_offset = rd64(f + 40);
    if (meta <= size - 80) {
        uLong crc = crc32(0L, f, 68);
        crc = crc32(crc, f + 80, (uInt)meta);
        wr32(f + 68, (uint32_t)crc);
    }
    if (!(rd32(f + 8) & 1u) && data_offset <= size) {
        uLong crc = crc32(0L, Z_NULL, 0);
        crc = crc32(crc, f + data_offset, (uInt)(size - data_offset));
        wr32(f + 64, (uint32_t)crc);
        if (meta <= size - 80) { /* meta_crc32 covers the data CRC field */
            uLong mc = crc32(0L, f, 68);
            mc = crc32(mc, f + 80, (uInt)meta);
            wr32(f + 68, (uint32_t)mc);
        }
    }
}

static void query(const venseg_model *m)
{
    int32_t w = 0, h = 0, c = 0, n = 0;
    FUZZ_CHECK(venseg_model_input_size(m, &w, &h, &c) == VENSEG_OK);
    FUZZ_CHECK(w >= 1 && w <= 4096 && h >= 1 && h <= 4096 && (c == 1 || c == 3));
    FUZZ_CHECK(venseg_model_num_classes(m, &n) == VENSEG_OK && n >= 1 && n <= 16);
    for (int32_t i = 0; i < n; i++) {
        const char *name = NULL;
        FUZZ_CHECK(venseg_model_class_name(m, i, &name) == VENSEG_OK && name);
        (void)strlen(name);
    }
    const char *s = NULL;
    int64_t i64 = 0;
    double f64 = 0;
    FUZZ_CHECK_DETAIL(venseg_model_meta_string(m, "general.name", &s));
    FUZZ_CHECK_DETAIL(venseg_model_meta_int(m, "input.width", &i64));
    FUZZ_CHECK_DETAIL(venseg_model_meta_double(m, "input.scale", &f64));
    FUZZ_CHECK(venseg_model_parameter_count(m, &i64) == VENSEG_OK && i64 >= 0);

    /* run it when cheap: the fuzzer should find bad graphs, not slow ones */
    int64_t macs = 0;
    if (venseg_model_macs(m, w, h, &macs) != VENSEG_OK || macs > 4000000) return;
    venseg_options *o = NULL;
    venseg_session *ses = NULL;
    FUZZ_CHECK(venseg_options_create(&o) == VENSEG_OK);
    FUZZ_CHECK(venseg_options_set(o, VENSEG_OPT_BACKEND, VENSEG_BACKEND_REFERENCE) == VENSEG_OK);
    FUZZ_CHECK(venseg_options_set(o, VENSEG_OPT_NUM_THREADS, 1) == VENSEG_OK);
    venseg_status st = venseg_session_create(m, o, &ses);
    FUZZ_CHECK_DETAIL(st);
    if (!st) {
        enum { FW = 23, FH = 17 };
        uint8_t px[FW * FH], mask[FW * FH];
        for (int i = 0; i < FW * FH; i++) px[i] = (uint8_t)(i * 37);
        st = venseg_segment(ses, px, VENSEG_PIXEL_GRAY8, FW, FH, FW, mask, FW, NULL, 0);
        FUZZ_CHECK_DETAIL(st);
        if (!st)
            for (int i = 0; i < FW * FH; i++) FUZZ_CHECK(mask[i] <= n);
    }
    venseg_session_free(ses);
    venseg_options_free(o);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    const int fix = data[0] & 1;
    size -= 1;
    uint8_t *file = malloc(size ? size : 1); /* exact size: ASan sees any over-read */
    if (!file) return 0;
    memcpy(file, data + 1, size);
    if (fix) fix_crcs(file, size);
    venseg_model *m = NULL;
    venseg_status st = venseg_model_load_memory(file, size, &m);
    free(file); /* the model must not keep pointers into the caller's bytes */
    FUZZ_CHECK_DETAIL(st);
    FUZZ_CHECK((st == VENSEG_OK) == (m != NULL));
    if (m) query(m);
    venseg_model_free(m);
    return 0;
}
