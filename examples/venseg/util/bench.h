/* bench.h: the benchmark shared by `venseg bench` and benchmarks/bench_segment. */
#ifndef VENSEG_CLI_BENCH_H
#define VENSEG_CLI_BENCH_H

/* GFLOP/s of a reference convolution at these threads (bf16 or fp32); 0 if unmeasured. */
typedef double (*vs_bench_ceiling_fn)(int threads, int bf16, int iters);

/* The p-th percentile (0..100, linear interpolation) of n values (sorts them). */
double vs_bench_percentile(double *v, int n, double p);

/* argv[0] is the command; prog names it in messages. Prints the JSON; returns a VS_EXIT_* status. */
int vs_bench_main(int argc, char **argv, const char *prog, vs_bench_ceiling_fn ceiling);

#endif
