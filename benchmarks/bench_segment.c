/* Latency benchmark of libvenseg's network on one backend and precision; prints JSON.
 *
 *   bench_segment MODEL.vseg [--size W H] [--batch N] [--threads T]
 *                 [--backend auto|reference|onednn] [--precision fp32|bf16|int8]
 *                 [--calibrate N] [--iters N] [--warmup N] [--samples] [--no-ceiling]
 *
 * The harness itself is examples/venseg/util/bench.c (library venseg_app_core), shared with
 * `venseg bench`. This program adds,
 * with oneDNN built in, a measured oneDNN convolution ceiling (a 3x3, 256 -> 256 channel
 * convolution at 64 x 64, the shape where oneDNN is fastest) at the same threads and
 * precision (fp32 for int8), and the fraction of it reached (--no-ceiling leaves it out). */
#include <stdlib.h>
#include <string.h>

#include "util/bench.h"
#include "util/cli_util.h"

#ifdef VENSEG_HAVE_ONEDNN
#include "backends/onednn/dnnl_compat.h"
#ifdef _OPENMP
#include <omp.h>
#endif

/* GFLOP/s of one oneDNN 3x3 convolution, 256 -> 256 channels at 64 x 64, batch 1. */
static double conv_ceiling(int threads, int bf16, int iters)
{
#ifdef _OPENMP
    int saved = omp_get_max_threads();
    omp_set_num_threads(threads);
#endif
    double gflops = 0;
    dnnl_engine_t eng = NULL;
    dnnl_stream_t stream = NULL;
    dnnl_primitive_desc_t pd = NULL;
    dnnl_primitive_t prim = NULL;
    dnnl_memory_t m[3] = {NULL, NULL, NULL};
    void *buf[3] = {NULL, NULL, NULL};
    vsd_md src, wei, dst, none, q;
    memset(&none, 0, sizeof none);
    const dnnl_data_type_t dt = bf16 ? dnnl_bf16 : dnnl_f32;
    dnnl_dims_t sd = {1, 256, 64, 64}, wd = {256, 256, 3, 3}, strides = {1, 1}, pad = {1, 1};
    if (dnnl_engine_create(&eng, dnnl_cpu, 0) || dnnl_stream_create(&stream, eng, dnnl_stream_default_flags)) goto out;
    vsd_md_init(&src, 4, sd, dt, dnnl_format_tag_any);
    vsd_md_init(&wei, 4, wd, dt, dnnl_format_tag_any);
    vsd_md_init(&dst, 4, sd, dt, dnnl_format_tag_any);
    if (vsd_conv_pd(&pd, eng, src, wei, none, dst, strides, pad, NULL)) goto out;
    dnnl_query_t what[3] = {dnnl_query_src_md, dnnl_query_weights_md, dnnl_query_dst_md};
    int args[3] = {DNNL_ARG_SRC, DNNL_ARG_WEIGHTS, DNNL_ARG_DST};
    dnnl_exec_arg_t ea[3];
    for (int i = 0; i < 3; i++) {
        vsd_md_query(&q, pd, what[i], 0);
        buf[i] = calloc(1, vsd_md_size(q));
        vsd_memory_create(&m[i], q, eng, buf[i]);
        vsd_md_free(&q);
        ea[i].arg = args[i];
        ea[i].memory = m[i];
    }
    if (dnnl_primitive_create(&prim, pd)) goto out;
    double *t = malloc(sizeof(double) * (size_t)iters);
    for (int i = -3; i < iters; i++) {
        double t0 = vs_now_ms();
        dnnl_primitive_execute(prim, stream, 3, ea);
        dnnl_stream_wait(stream);
        if (i >= 0) t[i] = vs_now_ms() - t0;
    }
    double med = vs_bench_percentile(t, iters, 50);
    free(t);
    gflops = 2.0 * 256 * 256 * 9 * 64 * 64 / (med * 1e6);
out:
    if (prim) dnnl_primitive_destroy(prim);
    if (pd) dnnl_primitive_desc_destroy(pd);
    for (int i = 0; i < 3; i++) {
        if (m[i]) dnnl_memory_destroy(m[i]);
        free(buf[i]);
    }
    if (stream) dnnl_stream_destroy(stream);
    if (eng) dnnl_engine_destroy(eng);
#ifdef _OPENMP
    omp_set_num_threads(saved);
#endif
    return gflops;
}
#endif

int main(int argc, char **argv)
{
#ifdef VENSEG_HAVE_ONEDNN
    /* --no-ceiling: the network alone, so that the process's CPU time is the network's
     * (benchmarks/network_ab.py) */
    int ceiling = 1, n = 0;
    for (int i = 0; i < argc; i++)
        if (i > 0 && !strcmp(argv[i], "--no-ceiling")) ceiling = 0;
        else argv[n++] = argv[i];
    return vs_bench_main(n, argv, "bench_segment", ceiling ? conv_ceiling : NULL);
#else
    return vs_bench_main(argc, argv, "bench_segment", NULL);
#endif
}
