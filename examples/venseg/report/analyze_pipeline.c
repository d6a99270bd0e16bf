/* analyze_pipeline.c: see analyze_pipeline.h. */
#define VENSEG_EXPERIMENTAL /* venseg_session_run_tensor: the network alone, for the timing */
#include "report/analyze_pipeline.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "report/analysis.h"
#include "report/html_report.h"
#include "util/dicom_io.h"
#include "util/png_io.h"

#ifdef VENSEG_CLI_HAVE_CJSON
static cJSON *num_or_null(double v) { return isfinite(v) ? cJSON_CreateNumber(v) : cJSON_CreateNull(); }

/* {"ms": total, "frames": n, "ms_per_frame", "frames_per_s"} of one stage. */
static cJSON *stage_json(double ms, int32_t frames)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "ms", round(ms * 1000) / 1000);
    cJSON_AddNumberToObject(o, "frames", frames);
    cJSON_AddItemToObject(o, "ms_per_frame", num_or_null(frames > 0 ? round(ms / frames * 1000) / 1000 : NAN));
    cJSON_AddItemToObject(o, "frames_per_s", num_or_null(frames > 0 && ms > 0 ? round(frames * 1e5 / ms) / 100 : NAN));
    return o;
}

cJSON *vs_pipeline_timing_json(const vs_pipeline_timing *t)
{
    cJSON *o = cJSON_CreateObject(), *th = cJSON_CreateObject(), *st = cJSON_CreateObject();
    cJSON_AddBoolToObject(o, "pipelined", t->pipelined != 0);
    cJSON_AddNumberToObject(th, "network", t->network_threads);
    cJSON_AddNumberToObject(th, "decode", t->pipelined ? 1 : 0); /* 0: on the calling thread */
    cJSON_AddNumberToObject(th, "encode", t->pipelined ? 1 : 0);
    cJSON_AddItemToObject(o, "threads", th);
    cJSON_AddNumberToObject(o, "frames_decoded", t->decoded);
    cJSON_AddNumberToObject(o, "frames_analysed", t->analysed);
    cJSON_AddNumberToObject(o, "wall_ms", round(t->wall_ms * 10) / 10);
    cJSON_AddItemToObject(o, "frames_per_s", num_or_null(t->wall_ms > 0 ? round(t->decoded * 1e5 / t->wall_ms) / 100 : NAN));
    cJSON_AddNumberToObject(o, "stream_ms", round(t->stream_ms * 10) / 10);
    cJSON_AddItemToObject(o, "stream_frames_per_s",
                          num_or_null(t->stream_ms > 0 ? round(t->decoded * 1e5 / t->stream_ms) / 100 : NAN));
    cJSON_AddNumberToObject(o, "peak_rss_mb", round(t->peak_rss_mb * 10) / 10);
    cJSON_AddItemToObject(st, "decode", stage_json(t->decode_ms, t->decoded));
    cJSON_AddItemToObject(st, "segment_track", stage_json(t->segment_track_ms, t->analysed));
    /* the network alone (a few runs on the session after the clip) and the rest of the library's
     * time per frame: preprocessing, postprocessing (resize back, labels, regions) and tracking */
    cJSON_AddItemToObject(st, "network", stage_json(t->network_ms * t->analysed, t->network_ms > 0 ? t->analysed : 0));
    double rest = t->segment_track_ms - t->network_ms * t->analysed;
    cJSON_AddItemToObject(st, "preprocess_postprocess_tracking",
                          stage_json(rest > 0 ? rest : 0, t->network_ms > 0 ? t->analysed : 0));
    cJSON_AddItemToObject(st, "overlay", stage_json(t->overlay_ms, t->encoded));
    cJSON_AddItemToObject(st, "encode", stage_json(t->encode_ms, t->encoded));
    cJSON_AddItemToObject(st, "key_frames", stage_json(t->key_frames_ms, 2));
    cJSON_AddItemToObject(st, "outputs", stage_json(t->outputs_ms, 0));
    cJSON_AddItemToObject(o, "stages", st);
    return o;
}

#endif

double vs_peak_rss_mb(void)
{
    struct rusage u;
    if (getrusage(RUSAGE_SELF, &u) != 0) return 0;
    return u.ru_maxrss / 1024.0; /* Linux: KiB */
}

/* ------------------------------------------------------------ GIF preview */

int vs_gif_preview_init(vs_gif_preview *p, int32_t store_w, int32_t store_h, int32_t expected)
{
    memset(p, 0, sizeof *p);
    int32_t side = store_w > store_h ? store_w : store_h;
    p->down = (side + VS_GIF_PREVIEW_SIDE - 1) / VS_GIF_PREVIEW_SIDE;
    if (p->down < 1) p->down = 1;
    p->width = store_w / p->down, p->height = store_h / p->down;
    int64_t per = (int64_t)p->width * p->height;
    int64_t keep = per > 0 ? VS_GIF_PREVIEW_PIXELS / per : 1;
    p->keep = keep < 1 ? 1 : keep > INT32_MAX / 4 ? INT32_MAX / 4 : (int32_t)keep;
    /* the step the whole clip will need, when it declares its length: then the GIF takes the
     * frames it always took */
    p->step = expected > 0 ? (expected + p->keep - 1) / p->keep : 1;
    if (p->step < 1) p->step = 1;
    return 0;
}

void vs_gif_preview_free(vs_gif_preview *p)
{
    vs_gif_close(p->writer, NULL, 0);
    free(p->scratch);
    for (int32_t i = 0; i < p->n; i++) free(p->frames[i]);
    free(p->frames);
    free(p->analysed_index);
    memset(p, 0, sizeof *p);
}

/* The smallest multiple of the held step that keeps `analysed` frames within keep. */
static int32_t final_step(const vs_gif_preview *p, int32_t analysed)
{
    int32_t need = (analysed + p->keep - 1) / p->keep;
    if (need < 1) need = 1;
    return (need + p->step - 1) / p->step * p->step;
}

int32_t vs_gif_preview_select(const vs_gif_preview *p, int32_t analysed, int32_t *step)
{
    *step = final_step(p, analysed);
    int32_t n = 0;
    for (int32_t i = 0; i < p->n; i++) n += p->analysed_index[i] % *step == 0;
    return n;
}

/* The preview's reduction of a stored frame: palette indices, so the nearest pixel, not a mean. */
static void preview_reduce(const vs_gif_preview *p, const uint8_t *stored, int32_t store_w, uint8_t *f)
{
    const int32_t d = p->down;
    for (int32_t y = 0; y < p->height; y++)
        for (int32_t x = 0; x < p->width; x++)
            f[(size_t)y * p->width + x] = stored[(size_t)(y * d + d / 2) * store_w + x * d + d / 2];
}

/* stored: store_w x store_h palette frame of analysed frame i. 0, -1 out of memory, -2 the
 * writer failed (p->error). */
static int preview_add(vs_gif_preview *p, const uint8_t *stored, int32_t store_w, int32_t i)
{
    if (i % p->step) return 0;
    if (p->writer) {
        if (!p->scratch && !(p->scratch = malloc((size_t)p->width * p->height))) return -1;
        preview_reduce(p, stored, store_w, p->scratch);
        return vs_gif_add(p->writer, p->scratch, p->delay, p->error, sizeof p->error) == 0 ? 0 : -2;
    }
    if (p->n >= 2 * p->keep) { /* longer than declared: every other held frame goes */
        p->step *= 2;
        int32_t kept = 0;
        for (int32_t k = 0; k < p->n; k++) {
            if (p->analysed_index[k] % p->step == 0) {
                p->frames[kept] = p->frames[k];
                p->analysed_index[kept++] = p->analysed_index[k];
            } else {
                free(p->frames[k]);
            }
        }
        p->n = kept;
        if (i % p->step) return 0;
    }
    if (p->n == p->cap) {
        int32_t cap = p->cap ? 2 * p->cap : 64;
        uint8_t **nf = realloc(p->frames, (size_t)cap * sizeof *nf);
        if (!nf) return -1;
        p->frames = nf;
        int32_t *ni = realloc(p->analysed_index, (size_t)cap * sizeof *ni);
        if (!ni) return -1;
        p->analysed_index = ni;
        p->cap = cap;
    }
    uint8_t *f = malloc((size_t)p->width * p->height);
    if (!f) return -1;
    preview_reduce(p, stored, store_w, f);
    p->frames[p->n] = f;
    p->analysed_index[p->n++] = i;
    return 0;
}

/* ------------------------------------------------------------ frame slots */

/* The <stem>_label.png beside the current PNG frame, into labels (w x h). */
static int label_mask_of(const vs_reader *rd, uint8_t *labels, int32_t w, int32_t h, char *err, size_t err_size)
{
    const char *frame = vs_reader_frame_path(rd);
    char path[4200], e2[256] = "path too long";
    vs_png l;
    if (!frame) {
        snprintf(err, err_size, "needs a folder of PNG frames with <stem>_label.png masks");
        return -1;
    }
    if (vs_label_path_beside(frame, path, sizeof path) != 0 || vs_png_read_label(path, &l, e2, sizeof e2) != 0) {
        snprintf(err, err_size, "%.300s: %.150s", path, e2);
        return -1;
    }
    if (l.width != w || l.height != h) {
        snprintf(err, err_size, "%.300s: %dx%d, the frame %dx%d", path, l.width, l.height, w, h);
        vs_png_free(&l);
        return -1;
    }
    memcpy(labels, l.data, (size_t)w * h);
    vs_png_free(&l);
    return 0;
}

/* Overlay of rgb + labels (w x h) at the stored size into idx; full: w x h scratch when shrinking. */
static void stored_overlay(const uint8_t *rgb, const uint8_t *labels, int32_t w, int32_t h, int32_t shrink,
                           int32_t sw, int32_t sh, uint8_t *full, uint8_t *idx)
{
    if (shrink == 1) {
        vs_overlay_index(rgb, labels, w, h, idx);
        return;
    }
    vs_overlay_index(rgb, labels, w, h, full);
    for (int32_t y = 0; y < sh; y++)
        for (int32_t x = 0; x < sw; x++) idx[(size_t)y * sw + x] = full[(size_t)y * shrink * w + (size_t)x * shrink];
}

/* Frames in flight: decoded ahead, being segmented, waiting for the encoder. Enough to keep
 * each stage busy; the memory is this many frames whatever the clip's length. */
enum { N_SLOTS = 6 };

typedef struct slot {
    uint8_t *rgb, *labels;
    int32_t frame, analysed_index;
    int analysed;
    char *file; /* frame folders: the file name */
} slot;

/* A FIFO of slots; never holds more than N_SLOTS, so a push never waits. */
typedef struct queue {
    slot *item[N_SLOTS + 1];
    int head, count, closed;
    pthread_mutex_t mu;
    pthread_cond_t cv;
} queue;

static void q_init(queue *q)
{
    memset(q, 0, sizeof *q);
    pthread_mutex_init(&q->mu, NULL);
    pthread_cond_init(&q->cv, NULL);
}

static void q_destroy(queue *q)
{
    pthread_mutex_destroy(&q->mu);
    pthread_cond_destroy(&q->cv);
}

static void q_push(queue *q, slot *s)
{
    pthread_mutex_lock(&q->mu);
    q->item[(q->head + q->count++) % (N_SLOTS + 1)] = s;
    pthread_cond_signal(&q->cv);
    pthread_mutex_unlock(&q->mu);
}

/* The next slot, waiting for one; NULL once the queue is closed and empty. */
static slot *q_pop(queue *q)
{
    pthread_mutex_lock(&q->mu);
    while (q->count == 0 && !q->closed) pthread_cond_wait(&q->cv, &q->mu);
    slot *s = NULL;
    if (q->count) {
        s = q->item[q->head];
        q->head = (q->head + 1) % (N_SLOTS + 1);
        q->count--;
    }
    pthread_mutex_unlock(&q->mu);
    return s;
}

static void q_close(queue *q)
{
    pthread_mutex_lock(&q->mu);
    q->closed = 1;
    pthread_cond_broadcast(&q->cv);
    pthread_mutex_unlock(&q->mu);
}

typedef struct pipe_state {
    const vs_pipeline_io *io;
    vs_pipeline_out *out;
    vs_pipeline_timing *t;
    queue free_q, decoded_q, encode_q;
    slot slots[N_SLOTS];
    uint8_t *full, *idx, *rgb_out; /* the encoder's scratch */
    int32_t decoded;
    pthread_mutex_t err_mu;
    atomic_int failed;             /* set once under err_mu; read by the stages to stop */
    int rc;
    char err[1024];
} pipe_state;

static void fail_with(pipe_state *p, int rc, const char *fmt, const char *a, const char *b)
{
    pthread_mutex_lock(&p->err_mu);
    if (!p->failed) {
        snprintf(p->err, sizeof p->err, fmt, a, b);
        p->rc = rc;
        p->failed = 1;
    }
    pthread_mutex_unlock(&p->err_mu);
}

/* Reads the next frame into s: 1 a frame, 0 the end (or stopped), -1 failed. */
static int decode_one(pipe_state *p, slot *s)
{
    const vs_pipeline_io *io = p->io;
    char e2[512];
    if ((io->max_frames > 0 && p->decoded >= io->max_frames) || p->failed) return 0;
    double t0 = vs_now_ms();
    const uint8_t *rgb;
    int r = vs_reader_next(io->rd, &rgb, e2, sizeof e2);
    if (r < 0) { /* a bad or unsupported DICOM is the input's fault (status 4) */
        fail_with(p, strstr(e2, VS_DICOM_BAD) || strstr(e2, VS_DICOM_UNSUPPORTED) ? VS_EXIT_INPUT : VS_EXIT_ERROR,
                  "%s: %s", io->input, e2);
        return -1;
    }
    if (r == 0) return 0;
    memcpy(s->rgb, rgb, (size_t)io->width * io->height * 3);
    if (io->use_labels && label_mask_of(io->rd, s->labels, io->width, io->height, e2, sizeof e2) != 0) {
        fail_with(p, VS_EXIT_INPUT, "--use-labels: %s%s", e2, "");
        return -1;
    }
    const char *path = vs_reader_frame_path(io->rd), *slash = path ? strrchr(path, '/') : NULL;
    free(s->file);
    if (!(s->file = strdup(slash ? slash + 1 : path ? path : ""))) {
        fail_with(p, VS_EXIT_ERROR, "out of memory%s%s", "", "");
        return -1;
    }
    s->frame = p->decoded++;
    p->t->decode_ms += vs_now_ms() - t0;
    p->t->decoded++;
    return 1;
}

/* Segments and tracks s (in the clip's order): 0, or -1 failed. */
static int infer_one(pipe_state *p, slot *s)
{
    const vs_pipeline_io *io = p->io;
    vs_pipeline_out *o = p->out;
    venseg_push_result pr = {.struct_size = sizeof pr}; /* the tracker says if it analysed it */
    venseg_status st;
    double t0 = vs_now_ms();
    if (io->use_labels)
        st = venseg_tracker_push_labels_ex(io->trk, s->labels, io->width, io->width, io->height, &pr);
    else
        st = venseg_tracker_push_frame_ex(io->trk, io->ses, s->rgb, VENSEG_PIXEL_RGB8, io->width, io->height,
                                          (int64_t)io->width * 3, s->labels, io->width, &pr);
    if (st) {
        char what[512];
        snprintf(what, sizeof what, "%s: %s", venseg_status_name(st), venseg_last_error());
        fail_with(p, VS_EXIT_ERROR, "segmenting a frame: %s%s", what, "");
        return -1;
    }
    s->analysed = pr.analysed;
    s->analysed_index = pr.analysed_index;
    if (pr.analysed) {
        venseg_track_frame tf = {.struct_size = sizeof tf};
        if (venseg_tracker_frame_at(io->trk, -1, &tf) == VENSEG_OK)
            o->with_artery += tf.artery_present, o->with_vein += tf.vein_present;
        p->t->segment_track_ms += vs_now_ms() - t0;
        p->t->analysed++;
    }
    if (vs_strlist_add(&o->files, s->file) != 0) {
        char n[32];
        snprintf(n, sizeof n, "%d", o->pushed);
        fail_with(p, VS_EXIT_ERROR, "out of memory after %s frames%s", n, "");
        return -1;
    }
    o->pushed++;
    vs_progress_update(io->bar, o->pushed);
    return 0;
}

/* The overlay of an analysed frame into the MP4, the --full-gif GIF and the preview: 0, or -1. */
static int encode_one(pipe_state *p, slot *s)
{
    const vs_pipeline_io *io = p->io;
    char e2[256];
    double t0 = vs_now_ms();
    stored_overlay(s->rgb, s->labels, io->width, io->height, io->shrink, io->store_w, io->store_h, p->full, p->idx);
    double t1 = vs_now_ms();
    p->t->overlay_ms += t1 - t0;
    if (io->mp4 && !p->out->mp4_failed) {
        vs_index_to_rgb(p->idx, (size_t)io->store_w * io->store_h, p->rgb_out);
        if (vs_mp4_add(io->mp4, p->rgb_out, p->out->mp4_error, sizeof p->out->mp4_error) != 0) p->out->mp4_failed = 1;
    }
    if (io->gif && vs_gif_add(io->gif, p->idx, io->gif_delay, e2, sizeof e2) != 0) {
        fail_with(p, VS_EXIT_ERROR, "the overlay GIF: %s%s", e2, "");
        return -1;
    }
    int prc = io->preview ? preview_add(io->preview, p->idx, io->store_w, s->analysed_index) : 0;
    if (prc != 0) {
        fail_with(p, VS_EXIT_ERROR, "%s%s", prc == -2 ? "the overlay GIF: " : "out of memory (GIF preview)",
                  prc == -2 ? io->preview->error : "");
        return -1;
    }
    p->t->encode_ms += vs_now_ms() - t1;
    p->t->encoded++;
    return 0;
}

static int encoding(const vs_pipeline_io *io) { return io->mp4 || io->gif || io->preview; }

static void *decoder_main(void *arg)
{
    pipe_state *p = arg;
    for (;;) {
        slot *s = q_pop(&p->free_q);
        if (!s) break;
        if (decode_one(p, s) != 1) {
            q_push(&p->free_q, s);
            break;
        }
        q_push(&p->decoded_q, s);
    }
    q_close(&p->decoded_q);
    return NULL;
}

static void *encoder_main(void *arg)
{
    pipe_state *p = arg;
    slot *s;
    while ((s = q_pop(&p->encode_q))) {
        if (!p->failed) encode_one(p, s);
        q_push(&p->free_q, s);
    }
    return NULL;
}

int vs_pipeline_run(const vs_pipeline_io *io, vs_pipeline_out *out, vs_pipeline_timing *t, char *err,
                    size_t err_size)
{
    pipe_state *p = calloc(1, sizeof *p);
    if (!p) {
        snprintf(err, err_size, "out of memory");
        return VS_EXIT_ERROR;
    }
    p->io = io, p->out = out, p->t = t;
    q_init(&p->free_q), q_init(&p->decoded_q), q_init(&p->encode_q);
    pthread_mutex_init(&p->err_mu, NULL);
    const size_t px = (size_t)io->width * io->height, stored = (size_t)io->store_w * io->store_h;
    int ok = (p->idx = malloc(stored)) && (p->rgb_out = malloc(stored * 3)) &&
             (io->shrink == 1 || (p->full = malloc(px)));
    const int n_slots = io->sequential ? 1 : N_SLOTS;
    for (int i = 0; ok && i < n_slots; i++) {
        ok = (p->slots[i].rgb = malloc(px * 3)) && (p->slots[i].labels = malloc(px));
        if (ok) q_push(&p->free_q, &p->slots[i]);
    }
    t->pipelined = !io->sequential;
    double t0 = vs_now_ms();
    if (!ok) {
        fail_with(p, VS_EXIT_ERROR, "out of memory%s%s", "", "");
    } else if (io->sequential) { /* the reference order: each frame through every stage in turn */
        slot *s = &p->slots[0];
        while (decode_one(p, s) == 1 && infer_one(p, s) == 0)
            if (s->analysed && encoding(io) && encode_one(p, s) != 0) break;
    } else {
        pthread_t dec, enc;
        int have_enc = encoding(io) && pthread_create(&enc, NULL, encoder_main, p) == 0;
        if (encoding(io) && !have_enc) fail_with(p, VS_EXIT_ERROR, "cannot start the encoder thread%s%s", "", "");
        else if (pthread_create(&dec, NULL, decoder_main, p) != 0) {
            fail_with(p, VS_EXIT_ERROR, "cannot start the decoder thread%s%s", "", "");
        } else {
            slot *s;
            while ((s = q_pop(&p->decoded_q))) {
                if (!p->failed && infer_one(p, s) == 0 && s->analysed && have_enc) q_push(&p->encode_q, s);
                else q_push(&p->free_q, s);
                if (p->failed) q_close(&p->free_q); /* the decoder stops at its next slot */
            }
            pthread_join(dec, NULL);
        }
        if (have_enc) {
            q_close(&p->encode_q);
            pthread_join(enc, NULL);
        }
    }
    t->stream_ms = vs_now_ms() - t0;
    int rc = p->failed ? p->rc : VS_EXIT_OK;
    if (p->failed) snprintf(err, err_size, "%s", p->err);
    for (int i = 0; i < N_SLOTS; i++) free(p->slots[i].rgb), free(p->slots[i].labels), free(p->slots[i].file);
    free(p->full), free(p->idx), free(p->rgb_out);
    q_destroy(&p->free_q), q_destroy(&p->decoded_q), q_destroy(&p->encode_q);
    pthread_mutex_destroy(&p->err_mu);
    free(p);
    return rc;
}

/* ------------------------------------------------------------- key frames */

int vs_pipeline_key_frames(const char *input, venseg_session *ses, int use_labels, int32_t track_size,
                           const int32_t want[2], int32_t shrink, int32_t store_w, int32_t store_h,
                           vs_frames_store *store, char *err, size_t err_size)
{
    vs_reader *rd = NULL;
    venseg_tracker_config *kc = NULL;
    venseg_tracker *kt = NULL; /* a bounded track size: the masks the tracker made, from a tracker of that size */
    char e2[512];
    venseg_status st = VENSEG_OK;
    if (!use_labels && track_size > 0 &&
        ((st = venseg_tracker_config_create(&kc)) || (st = venseg_tracker_config_set(kc, VENSEG_TRACKER_MAX_SIDE, track_size)) ||
         (st = venseg_tracker_create(kc, &kt)))) {
        venseg_tracker_config_free(kc);
        snprintf(err, err_size, "key frames: %s: %s", venseg_status_name(st), venseg_last_error());
        return VS_EXIT_ERROR;
    }
    venseg_tracker_config_free(kc);
    if (vs_reader_open(input, &rd, e2, sizeof e2) != 0) {
        snprintf(err, err_size, "%s (reading it again for the key frames)", e2);
        venseg_tracker_free(kt);
        return VS_EXIT_ERROR;
    }
    const int32_t w = vs_reader_width(rd), h = vs_reader_height(rd);
    const int32_t last = want[0] > want[1] ? want[0] : want[1];
    uint8_t *labels = malloc((size_t)w * h), *full = shrink > 1 ? malloc((size_t)w * h) : NULL;
    uint8_t *idx[2] = {NULL, NULL};
    int rc = VS_EXIT_ERROR, r = 1;
    if (!labels || (shrink > 1 && !full)) {
        snprintf(err, err_size, "out of memory");
        goto out;
    }
    for (int32_t k = 0; k <= last && r == 1; k++) {
        const uint8_t *rgb = NULL;
        if (k != want[0] && k != want[1]) {
            r = vs_reader_skip(rd, e2, sizeof e2);
            continue;
        }
        if ((r = vs_reader_next(rd, &rgb, e2, sizeof e2)) != 1) break;
        if (use_labels) {
            if (label_mask_of(rd, labels, w, h, e2, sizeof e2) != 0) {
                snprintf(err, err_size, "--use-labels: %s", e2);
                rc = VS_EXIT_INPUT;
                goto out;
            }
        } else if ((st = kt ? venseg_tracker_push_frame(kt, ses, rgb, VENSEG_PIXEL_RGB8, w, h, (int64_t)w * 3, labels, w)
                            : venseg_segment(ses, rgb, VENSEG_PIXEL_RGB8, w, h, (int64_t)w * 3, labels, w, NULL, 0))) {
            snprintf(err, err_size, "segmenting a key frame: %s: %s", venseg_status_name(st), venseg_last_error());
            goto out;
        }
        for (int j = 0; j < 2; j++) {
            if (want[j] != k) continue;
            if (!(idx[j] = malloc((size_t)store_w * store_h))) {
                snprintf(err, err_size, "out of memory");
                goto out;
            }
            stored_overlay(rgb, labels, w, h, shrink, store_w, store_h, full, idx[j]);
        }
    }
    if (r != 1) {
        snprintf(err, err_size, "%s: %s", input, r < 0 ? e2 : "ended before its key frames on a second read");
        goto out;
    }
    store->width = store_w, store->height = store_h;
    for (int j = 0; j < 2; j++) {
        if (vs_frames_store_add(store, idx[j], want[j]) != 0) {
            snprintf(err, err_size, "out of memory");
            goto out;
        }
        idx[j] = NULL;
    }
    rc = VS_EXIT_OK;
out:
    free(idx[0]), free(idx[1]);
    free(labels), free(full);
    vs_reader_close(rd);
    venseg_tracker_free(kt);
    return rc;
}

double vs_pipeline_network_ms(venseg_session *ses, const venseg_model *model, int runs)
{
    int32_t w, h, c, classes;
    if (!ses || venseg_model_input_size(model, &w, &h, &c) || venseg_model_class_count(model, &classes)) return 0;
    float *in = calloc((size_t)c * w * h, sizeof *in), *outp = malloc((size_t)classes * w * h * sizeof *outp);
    double *ms = malloc(sizeof *ms * (size_t)(runs > 0 ? runs : 1)), med = 0;
    if (in && outp && ms && runs > 0) {
        int ok = venseg_session_run_tensor(ses, in, 1, c, h, w, 1, outp) == VENSEG_OK; /* warm-up */
        for (int i = 0; ok && i < runs; i++) {
            double t0 = vs_now_ms();
            ok = venseg_session_run_tensor(ses, in, 1, c, h, w, 1, outp) == VENSEG_OK;
            ms[i] = vs_now_ms() - t0;
        }
        if (ok) {
            for (int i = 1; i < runs; i++) /* insertion sort: a few values */
                for (int j = i; j > 0 && ms[j] < ms[j - 1]; j--) {
                    double x = ms[j];
                    ms[j] = ms[j - 1], ms[j - 1] = x;
                }
            med = runs % 2 ? ms[runs / 2] : 0.5 * (ms[runs / 2 - 1] + ms[runs / 2]);
        }
    }
    free(in), free(outp), free(ms);
    return med;
}

int vs_pipeline_network_threads(void)
{
    if (getenv("OMP_NUM_THREADS")) return 0; /* the user's OpenMP setting rules */
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 2 ? (int)n - 1 : 1;
}

/* ------------------------------------------------------------------ bench */

int vs_bench_pipeline(const char *prog, const char *clip, const char *model_path, int threads, int precision,
                      int track_size, int sequential, int verbose)
{
    char err[1024], model_buf[4096], dir_buf[4096];
    const char *tmp = getenv("TMPDIR");
    venseg_model *model = NULL;
    int rc = vs_load_model(model_path, &model, err, sizeof err);
    if (rc != VS_EXIT_OK) {
        fprintf(stderr, "%s: %s\n", prog, err);
        return rc;
    }
    snprintf(dir_buf, sizeof dir_buf, "%s/venseg-bench-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir_buf)) {
        fprintf(stderr, "%s: --pipeline: cannot make a folder for the outputs (%s)\n", prog, dir_buf);
        venseg_model_free(model);
        return VS_EXIT_ERROR;
    }
    vs_analysis_opts o;
    memset(&o, 0, sizeof o);
    o.input = clip, o.out_dir = dir_buf, o.name = "bench", o.stride = 1, o.site = "", o.mp4 = 1;
    o.model_path = model_path ? model_path : vs_default_model(model_buf, sizeof model_buf);
    o.threads = threads, o.precision = precision, o.sequential = sequential, o.verbose = verbose;
    o.track_size = track_size;
    o.command_line = "venseg bench --pipeline";
    vs_analysis_result *r = calloc(1, sizeof *r);
    rc = r ? vs_analysis_run(&o, model, r, err, sizeof err) : VS_EXIT_ERROR;
    if (rc != VS_EXIT_OK) fprintf(stderr, "%s: --pipeline %s: %s\n", prog, clip, r ? err : "out of memory");
#ifdef VENSEG_CLI_HAVE_CJSON
    cJSON *analysis = NULL;
    if (rc == VS_EXIT_OK) { /* what ran, from the analysis JSON itself */
        FILE *f = fopen(r->json, "rb");
        char *text = NULL;
        long size = 0;
        if (f && fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) > 0 && fseek(f, 0, SEEK_SET) == 0 &&
            (text = malloc((size_t)size + 1)) && fread(text, 1, (size_t)size, f) == (size_t)size) {
            text[size] = '\0';
            analysis = cJSON_Parse(text);
        }
        if (f) fclose(f);
        free(text);
    }
    if (rc == VS_EXIT_OK && analysis) {
        const cJSON *in = cJSON_GetObjectItem(analysis, "input"), *mod = cJSON_GetObjectItem(analysis, "model");
        cJSON *out = cJSON_CreateObject();
        cJSON_AddStringToObject(out, "clip", clip);
        cJSON_AddStringToObject(out, "model", o.model_path);
        cJSON_AddItemToObject(out, "width", cJSON_Duplicate(cJSON_GetObjectItem(in, "width"), 1));
        cJSON_AddItemToObject(out, "height", cJSON_Duplicate(cJSON_GetObjectItem(in, "height"), 1));
        cJSON_AddItemToObject(out, "track_size", cJSON_Duplicate(cJSON_GetObjectItem(in, "track_size"), 1));
        cJSON_AddNumberToObject(out, "frames", r->frames_read);
        const cJSON *prec = cJSON_GetObjectItem(mod, "precision"), *ses = cJSON_GetObjectItem(mod, "session");
        cJSON_AddStringToObject(out, "precision", cJSON_IsString(prec) ? prec->valuestring : "?");
        cJSON_AddStringToObject(out, "session", cJSON_IsString(ses) ? ses->valuestring : "?");
        cJSON_AddStringToObject(out, "build", venseg_build_info());
        cJSON *t = vs_pipeline_timing_json(&r->timing);
        /* end to end first: what a user waits for */
        cJSON_AddItemToObject(out, "frames_per_s", cJSON_Duplicate(cJSON_GetObjectItem(t, "frames_per_s"), 1));
        cJSON_AddItemToObject(out, "wall_ms", cJSON_Duplicate(cJSON_GetObjectItem(t, "wall_ms"), 1));
        cJSON_AddItemToObject(out, "peak_rss_mb", cJSON_Duplicate(cJSON_GetObjectItem(t, "peak_rss_mb"), 1));
        cJSON_AddItemToObject(out, "timing", t);
        char *text = cJSON_Print(out);
        if (text) printf("%s\n", text);
        cJSON_free(text);
        cJSON_Delete(out);
    } else if (rc == VS_EXIT_OK) {
        fprintf(stderr, "%s: --pipeline: cannot read back %s\n", prog, r->json);
        rc = VS_EXIT_ERROR;
    }
    cJSON_Delete(analysis);
#endif
    if (r) { /* the outputs were only the means: nothing is left behind */
        const char *written[] = {r->curve, r->gif, r->mp4, r->csv, r->summary_csv, r->json, r->report};
        for (size_t i = 0; i < sizeof written / sizeof written[0]; i++)
            if (written[i][0]) remove(written[i]);
    }
    rmdir(dir_buf);
    free(r);
    venseg_model_free(model);
    return rc;
}
