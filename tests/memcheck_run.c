/* A short segmentation run for valgrind memcheck (ctest memcheck_segment): loads the
 * tiny model as stored, deflated and q8, segments phantom frames through a tracker on
 * every backend this build has (reference, oneDNN), with probabilities, a ROI and the
 * instances, refuses a few bad calls, and frees everything. Exit 0 when every call
 * behaved; valgrind's exit code reports memory errors and leaks.
 *   memcheck_run DATA_DIR */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <venseg/venseg.h>

#define CHECK(call)                                                                                   \
    do {                                                                                              \
        venseg_status st_ = (call);                                                                   \
        if (st_ != VENSEG_OK) {                                                                       \
            fprintf(stderr, "%s:%d: %s: %s\n", __FILE__, __LINE__, venseg_status_name(st_), venseg_last_error()); \
            return 1;                                                                                 \
        }                                                                                             \
    } while (0)

enum { W = 80, H = 64, FRAMES = 4 };

static int run(const char *model_path, venseg_backend backend, const venseg_phantom *ph)
{
    venseg_model *m = NULL;
    venseg_options *o = NULL;
    venseg_session *s = NULL;
    venseg_tracker *t = NULL;
    CHECK(venseg_model_load_file(model_path, &m));
    CHECK(venseg_options_create(&o));
    CHECK(venseg_options_set(o, VENSEG_OPT_BACKEND, backend));
    CHECK(venseg_options_set(o, VENSEG_OPT_NUM_THREADS, 2));
    CHECK(venseg_session_create(m, o, &s));
    venseg_options_free(o);
    venseg_model_free(m); /* the session keeps the model */
    CHECK(venseg_tracker_create(NULL, &t));
    static uint8_t px[W * H], mask[W * H];
    static float probs[2 * W * H];
    for (int i = 0; i < FRAMES; i++) {
        CHECK(venseg_phantom_frame(ph, i, px, W, NULL, 0));
        CHECK(venseg_tracker_push_frame(t, s, px, VENSEG_PIXEL_GRAY8, W, H, W, mask, W));
    }
    CHECK(venseg_session_set_roi(s, 8, 4, 48, 40));
    CHECK(venseg_segment(s, px, VENSEG_PIXEL_GRAY8, W, H, W, mask, W, probs, W));
    int32_t n = 0;
    CHECK(venseg_session_instance_count(s, &n));
    for (int32_t i = 0; i < n; i++) {
        venseg_instance inst;
        memset(&inst, 0, sizeof inst);
        inst.struct_size = sizeof inst;
        CHECK(venseg_session_instance(s, i, &inst));
    }
    /* refused calls leave everything usable */
    if (venseg_segment(s, px, VENSEG_PIXEL_GRAY8, 20, 20, 20, mask, 20, NULL, 0) != VENSEG_E_INVALID_ARGUMENT) return 1;
    if (venseg_tracker_push_labels(t, mask, W, W + 1, H) != VENSEG_E_INVALID_ARGUMENT) return 1;
    CHECK(venseg_session_set_roi(s, 0, 0, 0, 0));
    CHECK(venseg_segment(s, px, VENSEG_PIXEL_GRAY8, W, H, W, mask, W, NULL, 0));
    venseg_track_summary sum;
    memset(&sum, 0, sizeof sum);
    sum.struct_size = sizeof sum;
    CHECK(venseg_tracker_summary(t, &sum));
    printf("%s, backend %d: %d frames, verdict %s, %d instances; %s\n", model_path, (int)backend, sum.frames_analysed,
           venseg_verdict_name((venseg_verdict)sum.verdict), n, venseg_session_describe(s));
    venseg_tracker_free(t);
    venseg_session_free(s);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: memcheck_run DATA_DIR\n");
        return 2;
    }
    venseg_phantom_config *pc = NULL;
    venseg_phantom *ph = NULL;
    CHECK(venseg_phantom_config_create(&pc));
    CHECK(venseg_phantom_config_set(pc, VENSEG_PHANTOM_WIDTH, W));
    CHECK(venseg_phantom_config_set(pc, VENSEG_PHANTOM_HEIGHT, H));
    CHECK(venseg_phantom_config_set(pc, VENSEG_PHANTOM_FRAMES, FRAMES));
    CHECK(venseg_phantom_create(pc, &ph));
    venseg_phantom_config_free(pc);
    venseg_model *bad = NULL;
    static const uint8_t junk[100] = {'V', 'S', 'E', 'G', 1};
    if (venseg_model_load_memory(junk, sizeof junk, &bad) != VENSEG_E_BAD_FILE || bad) return 1;

    const char *files[] = {"tiny_plain_unet.vseg", "tiny_plain_unet_deflate.vseg", "tiny_plain_unet_q8.vseg"};
    const int onednn = strstr(venseg_build_info(), "onednn") != NULL;
    int failed = 0;
    for (int f = 0; f < 3; f++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", argv[1], files[f]);
        failed |= run(path, VENSEG_BACKEND_REFERENCE, ph);
        if (onednn && f == 0) failed |= run(path, VENSEG_BACKEND_ONEDNN, ph); /* slow under memcheck: one file */
    }
    venseg_phantom_free(ph);
    return failed;
}
