/* Every oneDNN 2.x / 3.x API difference the backend relies on, in one place, so a
 * oneDNN 3 build is a recompile. Only the 2.x side is exercised by CI (Debian ships
 * 2.6); the 3.x side follows the 3.0 C API. */
#ifndef VENSEG_DNNL_COMPAT_H
#define VENSEG_DNNL_COMPAT_H

#include <string.h>

#include <dnnl.h>
#include <dnnl_version.h>

#if DNNL_VERSION_MAJOR >= 3

typedef dnnl_memory_desc_t vsd_md; /* opaque handle, owned: release with vsd_md_free */
#define VSD_MD(md) (md)

static inline dnnl_status_t vsd_md_init(vsd_md *md, int nd, const dnnl_dims_t dims, dnnl_data_type_t dt,
                                        dnnl_format_tag_t tag)
{
    return dnnl_memory_desc_create_with_tag(md, nd, dims, dt, tag);
}
static inline dnnl_status_t vsd_md_query(vsd_md *out, const_dnnl_primitive_desc_t pd, dnnl_query_t what, int idx)
{
    const_dnnl_memory_desc_t q = dnnl_primitive_desc_query_md(pd, what, idx);
    return q ? dnnl_memory_desc_clone(out, q) : dnnl_invalid_arguments;
}
static inline dnnl_status_t vsd_md_copy(vsd_md *out, const vsd_md in) { return dnnl_memory_desc_clone(out, in); }
static inline void vsd_md_free(vsd_md *md)
{
    if (*md) dnnl_memory_desc_destroy(*md);
    *md = NULL;
}
static inline int vsd_md_valid(const vsd_md md) { return md != NULL; }

static inline dnnl_status_t vsd_conv_pd(dnnl_primitive_desc_t *pd, dnnl_engine_t eng, const vsd_md src,
                                        const vsd_md wei, const vsd_md bias, const vsd_md dst, const dnnl_dims_t strides,
                                        const dnnl_dims_t pad, const_dnnl_primitive_attr_t attr)
{
    dnnl_dims_t dil = {0, 0};
    return dnnl_convolution_forward_primitive_desc_create(pd, eng, dnnl_forward_inference, dnnl_convolution_direct,
                                                          src, wei, bias, dst, strides, dil, pad, pad, attr);
}
static inline dnnl_status_t vsd_deconv_pd(dnnl_primitive_desc_t *pd, dnnl_engine_t eng, const vsd_md src,
                                          const vsd_md wei, const vsd_md bias, const vsd_md dst,
                                          const dnnl_dims_t strides, const dnnl_dims_t pad,
                                          const_dnnl_primitive_attr_t attr)
{
    dnnl_dims_t dil = {0, 0};
    return dnnl_deconvolution_forward_primitive_desc_create(pd, eng, dnnl_forward_inference,
                                                            dnnl_deconvolution_direct, src, wei, bias, dst, strides,
                                                            dil, pad, pad, attr);
}
static inline dnnl_status_t vsd_pool_max_pd(dnnl_primitive_desc_t *pd, dnnl_engine_t eng, const vsd_md src,
                                            const vsd_md dst, const dnnl_dims_t kernel, const dnnl_dims_t strides,
                                            const dnnl_dims_t pad, const_dnnl_primitive_attr_t attr)
{
    dnnl_dims_t dil = {0, 0};
    return dnnl_pooling_forward_primitive_desc_create(pd, eng, dnnl_forward_inference, dnnl_pooling_max, src, dst,
                                                      strides, kernel, dil, pad, pad, attr);
}
static inline dnnl_status_t vsd_resample_pd(dnnl_primitive_desc_t *pd, dnnl_engine_t eng, const vsd_md src,
                                            const vsd_md dst, const_dnnl_primitive_attr_t attr)
{
    return dnnl_resampling_forward_primitive_desc_create(pd, eng, dnnl_forward_inference, dnnl_resampling_nearest,
                                                         NULL, src, dst, attr);
}
static inline dnnl_status_t vsd_concat_pd(dnnl_primitive_desc_t *pd, dnnl_engine_t eng, int n, const vsd_md *srcs,
                                          const_dnnl_primitive_attr_t attr)
{
    return dnnl_concat_primitive_desc_create(pd, eng, NULL, n, 1, (const_dnnl_memory_desc_t *)srcs, attr);
}
static inline dnnl_status_t vsd_reorder_pd(dnnl_primitive_desc_t *pd, const vsd_md src, dnnl_engine_t eng,
                                           const vsd_md dst, const_dnnl_primitive_attr_t attr)
{
    return dnnl_reorder_primitive_desc_create(pd, src, eng, dst, eng, attr);
}
static inline dnnl_status_t vsd_post_ops_sum(dnnl_post_ops_t po, float scale)
{
    return dnnl_post_ops_append_sum(po, scale, 0, dnnl_data_type_undef);
}
static inline dnnl_status_t vsd_post_ops_sum_dt(dnnl_post_ops_t po, float scale, dnnl_data_type_t dt)
{
    return dnnl_post_ops_append_sum(po, scale, 0, dt);
}
/* md with another data type: int8 only, which 3.x does not run yet. */
static inline dnnl_status_t vsd_md_retype(vsd_md *out, const vsd_md in, dnnl_data_type_t dt)
{
    (void)in, (void)dt;
    *out = NULL;
    return dnnl_unimplemented;
}
/* int8 output scales moved to per-argument runtime scales in 3.x: not ported yet. */
#define VSD_HAVE_INT8 0
static inline dnnl_status_t vsd_output_scales(dnnl_primitive_attr_t attr, dnnl_dim_t n, int mask, const float *s)
{
    (void)attr, (void)n, (void)mask, (void)s;
    return dnnl_unimplemented;
}
static inline dnnl_status_t vsd_post_ops_relu(dnnl_post_ops_t po)
{
    return dnnl_post_ops_append_eltwise(po, dnnl_eltwise_relu, 0.0f, 0.0f);
}
static inline dnnl_status_t vsd_memory_create(dnnl_memory_t *mem, const vsd_md md, dnnl_engine_t eng, void *handle)
{
    return dnnl_memory_create(mem, md, eng, handle);
}

#else /* oneDNN 2.x */

typedef dnnl_memory_desc_t vsd_md; /* plain struct, copied by value */
#define VSD_MD(md) (&(md))

static inline dnnl_status_t vsd_md_init(vsd_md *md, int nd, const dnnl_dims_t dims, dnnl_data_type_t dt,
                                        dnnl_format_tag_t tag)
{
    return dnnl_memory_desc_init_by_tag(md, nd, dims, dt, tag);
}
static inline dnnl_status_t vsd_md_query(vsd_md *out, const_dnnl_primitive_desc_t pd, dnnl_query_t what, int idx)
{
    const dnnl_memory_desc_t *q = dnnl_primitive_desc_query_md(pd, what, idx);
    if (!q) return dnnl_invalid_arguments;
    *out = *q;
    return dnnl_success;
}
static inline dnnl_status_t vsd_md_copy(vsd_md *out, const vsd_md in)
{
    *out = in;
    return dnnl_success;
}
static inline void vsd_md_free(vsd_md *md) { memset(md, 0, sizeof *md); }
static inline int vsd_md_valid(const vsd_md md) { return md.ndims > 0; }

static inline dnnl_status_t vsd_conv_pd(dnnl_primitive_desc_t *pd, dnnl_engine_t eng, const vsd_md src,
                                        const vsd_md wei, const vsd_md bias, const vsd_md dst, const dnnl_dims_t strides,
                                        const dnnl_dims_t pad, const_dnnl_primitive_attr_t attr)
{
    dnnl_convolution_desc_t d;
    dnnl_status_t st = dnnl_convolution_forward_desc_init(&d, dnnl_forward_inference, dnnl_convolution_direct, &src,
                                                          &wei, bias.ndims ? &bias : NULL, &dst, strides, pad, pad);
    return st != dnnl_success ? st : dnnl_primitive_desc_create(pd, &d, attr, eng, NULL);
}
static inline dnnl_status_t vsd_deconv_pd(dnnl_primitive_desc_t *pd, dnnl_engine_t eng, const vsd_md src,
                                          const vsd_md wei, const vsd_md bias, const vsd_md dst,
                                          const dnnl_dims_t strides, const dnnl_dims_t pad,
                                          const_dnnl_primitive_attr_t attr)
{
    dnnl_deconvolution_desc_t d;
    dnnl_status_t st = dnnl_deconvolution_forward_desc_init(&d, dnnl_forward_inference, dnnl_deconvolution_direct,
                                                            &src, &wei, bias.ndims ? &bias : NULL, &dst, strides,
                                                            pad, pad);
    return st != dnnl_success ? st : dnnl_primitive_desc_create(pd, &d, attr, eng, NULL);
}
static inline dnnl_status_t vsd_pool_max_pd(dnnl_primitive_desc_t *pd, dnnl_engine_t eng, const vsd_md src,
                                            const vsd_md dst, const dnnl_dims_t kernel, const dnnl_dims_t strides,
                                            const dnnl_dims_t pad, const_dnnl_primitive_attr_t attr)
{
    dnnl_pooling_desc_t d;
    dnnl_status_t st = dnnl_pooling_forward_desc_init(&d, dnnl_forward_inference, dnnl_pooling_max, &src, &dst,
                                                      strides, kernel, pad, pad);
    return st != dnnl_success ? st : dnnl_primitive_desc_create(pd, &d, attr, eng, NULL);
}
static inline dnnl_status_t vsd_resample_pd(dnnl_primitive_desc_t *pd, dnnl_engine_t eng, const vsd_md src,
                                            const vsd_md dst, const_dnnl_primitive_attr_t attr)
{
    dnnl_resampling_desc_t d;
    dnnl_status_t st =
        dnnl_resampling_forward_desc_init(&d, dnnl_forward_inference, dnnl_resampling_nearest, NULL, &src, &dst);
    return st != dnnl_success ? st : dnnl_primitive_desc_create(pd, &d, attr, eng, NULL);
}
static inline dnnl_status_t vsd_concat_pd(dnnl_primitive_desc_t *pd, dnnl_engine_t eng, int n, const vsd_md *srcs,
                                          const_dnnl_primitive_attr_t attr)
{
    return dnnl_concat_primitive_desc_create(pd, NULL, n, 1, srcs, attr, eng);
}
static inline dnnl_status_t vsd_reorder_pd(dnnl_primitive_desc_t *pd, const vsd_md src, dnnl_engine_t eng,
                                           const vsd_md dst, const_dnnl_primitive_attr_t attr)
{
    return dnnl_reorder_primitive_desc_create(pd, &src, eng, &dst, eng, attr);
}
static inline dnnl_status_t vsd_post_ops_sum(dnnl_post_ops_t po, float scale) { return dnnl_post_ops_append_sum(po, scale); }
/* The sum reads dst as dt (of dst's size): an s8 residual summed into a u8 output. */
static inline dnnl_status_t vsd_post_ops_sum_dt(dnnl_post_ops_t po, float scale, dnnl_data_type_t dt)
{
    return dnnl_post_ops_append_sum_v2(po, scale, dt);
}
/* The same layout with another data type of the same size (the two alias one buffer). */
static inline dnnl_status_t vsd_md_retype(vsd_md *out, const vsd_md in, dnnl_data_type_t dt)
{
    if (dnnl_data_type_size(dt) != dnnl_data_type_size(in.data_type)) return dnnl_invalid_arguments;
    *out = in;
    out->data_type = dt;
    return dnnl_success;
}
/* int8: dst = output_scale * (src x weights + bias): 2.x adds the bias in the
 * accumulator's scale, so int8 biases are pre-multiplied by the input and weight scales. */
#define VSD_HAVE_INT8 1
static inline dnnl_status_t vsd_output_scales(dnnl_primitive_attr_t attr, dnnl_dim_t n, int mask, const float *s)
{
    return dnnl_primitive_attr_set_output_scales(attr, n, mask, s);
}
static inline dnnl_status_t vsd_post_ops_relu(dnnl_post_ops_t po)
{
    return dnnl_post_ops_append_eltwise(po, 1.0f, dnnl_eltwise_relu, 0.0f, 0.0f);
}
static inline dnnl_status_t vsd_memory_create(dnnl_memory_t *mem, const vsd_md md, dnnl_engine_t eng, void *handle)
{
    return dnnl_memory_create(mem, &md, eng, handle);
}

#endif

static inline int vsd_md_equal(const vsd_md a, const vsd_md b) { return dnnl_memory_desc_equal(VSD_MD(a), VSD_MD(b)); }
static inline size_t vsd_md_size(const vsd_md md) { return dnnl_memory_desc_get_size(VSD_MD(md)); }

#endif
