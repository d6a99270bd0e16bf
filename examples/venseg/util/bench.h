/* bench.h: the benchmark shared by `venseg bench` and benchmarks/bench_segment. */
#ifndef VENSEG_CLI_BENCH_H
#define VENSEG_CLI_BENCH_H

/* GFLOP/s of a reference convolution at these threads (bf16 or fp32); 0 if unmeasured. */
typedef double (*vs_bench_ceiling_fn)(int threads, int bf16, int iters);

/* The p-th percentile (0..100, linear interpolation) of n values (sorts them). */
double vs_bench_percentile(double *v, int n, double p);

/* `--pipeline CLIP`: the whole analysis of the clip timed per stage (prints its JSON); model
 * NULL: the default; threads 0: analyze's default; precision a venseg_precision (or auto);
 * track_size as vs_analysis_opts' (0: analyze's default); sequential: the stages in turn.
 * Returns a VS_EXIT_* status. */
typedef int (*vs_bench_pipeline_fn)(const char *prog, const char *clip, const char *model, int threads, int precision,
                                    int track_size, int sequential, int verbose);

/* argv[0] is the command; prog names it in messages. Prints the JSON; returns a VS_EXIT_* status.
 * --pipeline needs pipeline (vs_bench_main has none: status 5). */
int vs_bench_main(int argc, char **argv, const char *prog, vs_bench_ceiling_fn ceiling);
int vs_bench_main_ex(int argc, char **argv, const char *prog, vs_bench_ceiling_fn ceiling,
                     vs_bench_pipeline_fn pipeline);

#endif
