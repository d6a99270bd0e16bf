/*
 * analyze_pipeline.h: the streaming core of `venseg analyze` (docs/cli.md "Speed and memory").
 *
 * Three stages overlap, with a bounded pool of frame slots between them (memory does not grow
 * with the clip's length): a decoder thread reads frames (and --use-labels masks), the calling
 * thread segments and tracks them in order with the one session (so the results are those of the
 * plain order, bit for bit), and an encoder thread makes each analysed frame's overlay and writes
 * it to the MP4 (and the --full-gif GIF) as it comes, keeping only a bounded preview for the GIF.
 * No overlay frame is held: the report's two key frames are made again at the end, from a second
 * read of the clip up to the later of them (vs_pipeline_key_frames).
 */
#ifndef VENSEG_CLI_ANALYZE_PIPELINE_H
#define VENSEG_CLI_ANALYZE_PIPELINE_H

#include <stdint.h>
#include <venseg/venseg.h>

#include "report/viz.h"
#include "util/cli_util.h"
#include "util/media.h"

struct vs_frames_store;

/* Where the time went, summed over the clip (ms), and the peak memory. */
typedef struct vs_pipeline_timing {
    int pipelined;            /* 1: the stages overlapped (threads); 0: one after another */
    int network_threads;      /* the session's compute threads (venseg_session_get) */
    int32_t decoded, analysed, encoded; /* frames through each stage */
    double decode_ms;         /* reading: demuxing, decoding, converting to RGB (+ label masks) */
    double segment_track_ms;  /* the library per analysed frame: preprocess, network, postprocess, tracking */
    double network_ms;        /* the network alone, one frame at the model's input (median of a few runs
                                 after the clip on the same session); 0 when not measured */
    double overlay_ms;        /* overlay palette frames at the stored size */
    double encode_ms;         /* MP4, GIF frames */
    double key_frames_ms;     /* the second read for the report's key frames */
    double outputs_ms;        /* curve, GIF preview, CSV, JSON (up to the JSON) */
    double stream_ms;         /* wall time of the streaming part (decode .. encode) */
    double wall_ms;           /* wall time from opening the clip to writing the JSON */
    double peak_rss_mb;       /* getrusage ru_maxrss when the JSON was written */
} vs_pipeline_timing;

/* The preview GIF's frames (palette indices, reduced): the frames VS_GIF_PREVIEW_* take from all
 * analysed frames. When the clip declares its length they go to `writer` as they come (every
 * step-th); else they are held, a bounded number whatever the clip's length (the step doubles
 * when they reach twice what the GIF may have), and written at the end. */
typedef struct vs_gif_preview {
    int32_t down, width, height; /* reduction of the stored frames; preview size */
    int32_t keep;                /* frames the GIF may have */
    int32_t step;                /* analysed frames i with i % step == 0 are held */
    int32_t n, cap;
    uint8_t **frames;
    int32_t *analysed_index;
    vs_gif_writer *writer;       /* set: frames are written, not held */
    int delay;                   /* of the written frames, 1/100 s */
    uint8_t *scratch;            /* one reduced frame, for the writer */
    char error[256];             /* the writer's failure */
} vs_gif_preview;

/* store_w x store_h frames; expected: analysed frames the clip is expected to give (0: unknown). */
int vs_gif_preview_init(vs_gif_preview *p, int32_t store_w, int32_t store_h, int32_t expected);
void vs_gif_preview_free(vs_gif_preview *p);
/* The held frames of the final step for `analysed` frames in all (*step receives it): the GIF's frames. */
int32_t vs_gif_preview_select(const vs_gif_preview *p, int32_t analysed, int32_t *step);

typedef struct vs_pipeline_io {
    vs_reader *rd;
    const char *input;     /* for messages */
    venseg_session *ses;   /* NULL with use_labels */
    venseg_tracker *trk;
    int use_labels;
    int max_frames;        /* 0: all */
    int sequential;        /* 1: the stages in turn on the calling thread (the reference order) */
    int32_t width, height; /* of the clip */
    int32_t shrink;        /* stored overlay = frame / shrink (nearest pixel) */
    int32_t store_w, store_h;
    vs_mp4_writer *mp4;    /* nullable: written as frames come */
    vs_gif_writer *gif;    /* nullable: --full-gif, written as frames come */
    int gif_delay;         /* 1/100 s */
    vs_gif_preview *preview; /* nullable */
    vs_progress *bar;
} vs_pipeline_io;

typedef struct vs_pipeline_out {
    int32_t pushed, with_artery, with_vein;
    vs_strlist files;      /* per pushed frame its file name ("" for a video or GIF) */
    int mp4_failed;        /* the MP4 writer failed (mp4_error says why): no MP4 */
    char mp4_error[512];
} vs_pipeline_out;

/* Streams the clip through the session, the tracker and the writers. Returns a VS_EXIT_*
 * status (err says why); the timing's decode .. encode sums and stream_ms are filled. */
int vs_pipeline_run(const vs_pipeline_io *io, vs_pipeline_out *out, vs_pipeline_timing *timing, char *err,
                    size_t err_size);

/* The report's two key frames (pushed-frame indices want[0], want[1]) as overlays of the
 * stored size, made again from a second read of `input`: store->index[k] is want[k]. With
 * track_size > 0 (VENSEG_TRACKER_MAX_SIDE) the masks come from a tracker of that size, as the
 * streamed frames' did. */
int vs_pipeline_key_frames(const char *input, venseg_session *ses, int use_labels, int32_t track_size,
                           const int32_t want[2], int32_t shrink, int32_t store_w, int32_t store_h,
                           struct vs_frames_store *store, char *err, size_t err_size);

/* The network alone on `ses` at the model's input (median ms of `runs`, after one warm-up). */
double vs_pipeline_network_ms(venseg_session *ses, const venseg_model *model, int runs);

#ifdef VENSEG_CLI_HAVE_CJSON
#include <cjson/cJSON.h>
/* The JSON's "timing" object: per stage {ms, frames, ms_per_frame, frames_per_s}, threads,
 * end-to-end frames/s, peak RSS. */
cJSON *vs_pipeline_timing_json(const vs_pipeline_timing *t);
#endif

/* The network's threads when --threads is not given and the stages overlap: the cores but one
 * (decoding and encoding run beside it); 0 (OpenMP's default) when OMP_NUM_THREADS is set. */
int vs_pipeline_network_threads(void);

/* `venseg bench --pipeline CLIP`: the whole analysis of CLIP (outputs into a temporary folder,
 * removed after), its "timing" printed as JSON with what ran. Returns a VS_EXIT_* status. */
int vs_bench_pipeline(const char *prog, const char *clip, const char *model_path, int threads, int precision,
                      int track_size, int sequential, int verbose);

/* Peak resident memory of this process so far (getrusage ru_maxrss), MB. */
double vs_peak_rss_mb(void);

#endif
