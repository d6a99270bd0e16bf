/*
 * SWIG interface of libvenseg's stable API for Java (package libvenseg) and C#
 * (namespace LibVenseg): one file, the same classes and method names in both.
 *
 *   Model, Options, Session, TrackerConfig, Tracker, PhantomConfig, Phantom, Exam
 *       handles; free them with close() (Java, AutoCloseable) / Dispose() (C#).
 *   Instance, TrackFrame, TrackSummary, TrackedInstance, Vessel, PhantomTruth, ExamSite,
 *   ExamReport    read-only result records (the C structs, members in lowerCamelCase;
 *                 char arrays such as Vessel.getEvidence() are strings).
 *   Venseg        module class: metrics, version, names, the VENSEG_* constants.
 *   VensegException   every failed call: status, status name, venseg_last_error() detail.
 *   ExperimentalCalibration, Experimental   parts of venseg_experimental.h (no ABI promise).
 *
 * Buffers are Java / C# arrays: frames byte[] (gray8: width * height bytes, tight rows),
 * label masks byte[], probability maps float[] (class planes of width * height).
 * Each array is checked against the size the call needs (VENSEG_E_BUFFER_TOO_SMALL).
 */
%module Venseg

/* 64-bit Linux / macOS: build with -DSWIGWORDSIZE64 so that int64_t is long, as in C. */
%include <stdint.i>
/* SWIG maps C `long` to a 32-bit int in Java and C# (LLP64 habits): 64-bit integers are
 * Java / C# long everywhere. */
%apply long long { int64_t };
%apply unsigned long long { uint64_t };

%{
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* venseg_experimental.h too: the Experimental classes at the end wrap some of it */
#define VENSEG_EXPERIMENTAL
#include "venseg/venseg.h"

/* The failure of the current wrapped call on this thread; %exception turns it into
 * a VensegException and clears it. */
static _Thread_local venseg_status vs_status;
static _Thread_local char vs_detail[512];

/* Records a failure; the first one of a call is the one reported. */
static void vs_fail(venseg_status status, const char *fmt, ...)
{
    va_list ap;
    if (vs_status != VENSEG_OK)
        return;
    vs_status = status;
    va_start(ap, fmt);
    vsnprintf(vs_detail, sizeof vs_detail, fmt, ap);
    va_end(ap);
}

/* A library call: records its status and venseg_last_error() on failure. */
static bool vs_ok(venseg_status status)
{
    if (status != VENSEG_OK)
        vs_fail(status, "%s", venseg_last_error());
    return status == VENSEG_OK;
}

/* An array argument must hold `need` elements; NULL only where `nullable`. */
static bool vs_array(const void *data, int64_t length, int64_t need, const char *what, bool nullable)
{
    if (data == NULL) {
        if (!nullable)
            vs_fail(VENSEG_E_INVALID_ARGUMENT, "%s is null", what);
        return nullable;
    }
    if (length < need) {
        vs_fail(VENSEG_E_BUFFER_TOO_SMALL, "%s has %lld elements, the call needs %lld", what,
                (long long)length, (long long)need);
        return false;
    }
    return true;
}

/* Pixels of a width x height frame; 0 for bad dimensions, which the library reports. */
static int64_t vs_area(int32_t width, int32_t height)
{
    return width > 0 && height > 0 ? (int64_t)width * height : 0;
}

static int64_t vs_pixel_bytes(venseg_pixel_format format)
{
    switch (format) {
    case VENSEG_PIXEL_RGB8:
    case VENSEG_PIXEL_BGR8: return 3;
    case VENSEG_PIXEL_GRAY16: return 2;
    case VENSEG_PIXEL_FLOAT32: return 4;
    default: return 1;
    }
}

/* The handles: the library's object plus what the array checks need. */
typedef struct vs_model { venseg_model *h; } vs_model;
typedef struct vs_options { venseg_options *h; } vs_options;
typedef struct vs_session { venseg_session *h; int32_t n_classes; } vs_session;
typedef struct vs_tracker_config { venseg_tracker_config *h; } vs_tracker_config;
typedef struct vs_tracker { venseg_tracker *h; } vs_tracker;
typedef struct vs_phantom_config { venseg_phantom_config *h; } vs_phantom_config;
typedef struct vs_phantom { venseg_phantom *h; int32_t width, height, frames; } vs_phantom;
typedef struct vs_exam { venseg_exam *h; } vs_exam;

/* The model's input width, height or channels (which = 0, 1, 2). */
static int32_t vs_input_size(const vs_model *model, int which)
{
    int32_t v[3] = {0, 0, 0};
    vs_ok(venseg_model_input_size(model->h, &v[0], &v[1], &v[2]));
    return v[which];
}

static int64_t vs_option_bound(venseg_option key, bool upper)
{
    int64_t v[2] = {0, 0};
    vs_ok(venseg_session_config_bounds(key, &v[0], &v[1], NULL));
    return v[upper];
}

/* A zeroed result record with struct_size set, or NULL (out of memory recorded). */
static void *vs_record(size_t size)
{
    void *p = calloc(1, size);
    if (p == NULL)
        vs_fail(VENSEG_E_OUT_OF_MEMORY, "out of memory");
    else
        *(uint32_t *)p = (uint32_t)size;
    return p;
}

#define VS_RECORD(type, call)                                                                      \
    do {                                                                                           \
        type *r = vs_record(sizeof *r);                                                            \
        if (r != NULL && !vs_ok(call)) {                                                           \
            free(r);                                                                               \
            r = NULL;                                                                              \
        }                                                                                          \
        return r;                                                                                  \
    } while (0)

/* Wraps a new library object in its handle, or frees it and returns NULL. */
#define VS_WRAP(type, status_call, object)                                                         \
    do {                                                                                           \
        type *w_ = NULL;                                                                           \
        if (vs_ok(status_call)) {                                                                  \
            w_ = calloc(1, sizeof *w_);                                                            \
            if (w_ == NULL)                                                                        \
                vs_fail(VENSEG_E_OUT_OF_MEMORY, "out of memory");                                  \
        }                                                                                          \
        if (w_ == NULL)                                                                            \
            return NULL;                                                                           \
        w_->h = (object);                                                                          \
        return w_;                                                                                 \
    } while (0)

/* calibration (experimental): int8 ranges from it instead of the model file; NULL: none. */
static vs_session *vs_session_make(const vs_model *model, const vs_options *options,
                                   const venseg_calibration *calibration)
{
    venseg_session *s = NULL;
    vs_session *w = NULL;
    int32_t n = 0;
    if (model == NULL || model->h == NULL) {
        vs_fail(VENSEG_E_INVALID_ARGUMENT, "model is null or closed");
        return NULL;
    }
    if (!vs_ok(venseg_model_class_count(model->h, &n)))
        return NULL;
    if (!vs_ok(calibration ? venseg_session_create_calibrated(model->h, options ? options->h : NULL, calibration, &s)
                           : venseg_session_create(model->h, options ? options->h : NULL, &s)))
        return NULL;
    w = calloc(1, sizeof *w);
    if (w == NULL) {
        venseg_session_free(s);
        vs_fail(VENSEG_E_OUT_OF_MEMORY, "out of memory");
        return NULL;
    }
    w->h = s;
    w->n_classes = n;
    return w;
}

static vs_session *vs_session_new(const vs_model *model, const vs_options *options)
{
    return vs_session_make(model, options, NULL);
}

static void vs_session_segment(vs_session *self, const uint8_t *pixels, int64_t pixels_length,
                               venseg_pixel_format format, int32_t width, int32_t height, uint8_t *mask,
                               int64_t mask_length, float *probabilities, int64_t probabilities_length)
{
    int64_t n = vs_area(width, height);
    if (vs_array(pixels, pixels_length, n * vs_pixel_bytes(format), "pixels", false) &&
        vs_array(mask, mask_length, n, "labelMask", false) &&
        vs_array(probabilities, probabilities_length, n * self->n_classes, "probabilities", true))
        vs_ok(venseg_segment(self->h, pixels, format, width, height, (int64_t)width * vs_pixel_bytes(format), mask,
                             width, probabilities, width));
}

static vs_phantom *vs_phantom_new(const vs_phantom_config *config)
{
    venseg_phantom_config *defaults = NULL;
    const venseg_phantom_config *c = config ? config->h : NULL;
    double w = 0, h = 0, f = 0;
    venseg_phantom *p = NULL;
    vs_phantom *r = NULL;
    /* The frame size and count, for the array checks of frame(). */
    if (c == NULL) {
        if (!vs_ok(venseg_phantom_config_create(&defaults)))
            return NULL;
        c = defaults;
    }
    if (vs_ok(venseg_phantom_config_get(c, VENSEG_PHANTOM_WIDTH, &w)) &&
        vs_ok(venseg_phantom_config_get(c, VENSEG_PHANTOM_HEIGHT, &h)) &&
        vs_ok(venseg_phantom_config_get(c, VENSEG_PHANTOM_FRAMES, &f)) && vs_ok(venseg_phantom_create(c, &p))) {
        r = calloc(1, sizeof *r);
        if (r == NULL) {
            venseg_phantom_free(p);
            vs_fail(VENSEG_E_OUT_OF_MEMORY, "out of memory");
        } else {
            r->h = p;
            r->width = (int32_t)w;
            r->height = (int32_t)h;
            r->frames = (int32_t)f;
        }
    }
    venseg_phantom_config_free(defaults);
    return r;
}
%}

/* ------------------------------------------------------------ exceptions */

/* A closed object (close() / Dispose() cleared its pointer) is replaced by a zeroed
 * stand-in, so the call runs on NULL library handles, which the library rejects; the
 * VENSEG_E_BAD_STATE recorded first is what is thrown. */
%typemap(check) SWIGTYPE *self %{
  if (!$1) {
    static $*1_ltype closed;
    $1 = &closed;
    vs_fail(VENSEG_E_BAD_STATE, "the object was closed (close() / Dispose())");
  }
%}

/* Record getters too (SWIG leaves variable wrappers out of %exception by default). */
%allowexception;

#if defined(SWIGJAVA)
%include <enums.swg> /* proper Java enums, as C# has */
%{
static void vs_throw(JNIEnv *jenv)
{
    jclass cls = (*jenv)->FindClass(jenv, "libvenseg/VensegException");
    jmethodID ctor;
    jstring name, detail;
    jobject ex;
    if (cls == NULL)
        return; /* NoClassDefFoundError is pending */
    ctor = (*jenv)->GetMethodID(jenv, cls, "<init>", "(ILjava/lang/String;Ljava/lang/String;)V");
    name = (*jenv)->NewStringUTF(jenv, venseg_status_name(vs_status));
    detail = (*jenv)->NewStringUTF(jenv, vs_detail);
    if (ctor == NULL || name == NULL || detail == NULL)
        return;
    ex = (*jenv)->NewObject(jenv, cls, ctor, (jint)vs_status, name, detail);
    if (ex != NULL)
        (*jenv)->Throw(jenv, (jthrowable)ex);
}
%}
/* A failure leaves a pending Java exception; the wrapper goes on to release its arrays. */
%exception %{
  $action
  if (vs_status != VENSEG_OK) {
    vs_throw(jenv);
    vs_status = VENSEG_OK;
  }
%}
/* No new Java string while that exception is pending (JNI allows only cleanup calls). */
%typemap(out) char *, const char *, char [ANY] %{
  if ($1 && !(*jenv)->ExceptionCheck(jenv)) $result = (*jenv)->NewStringUTF(jenv, (const char *)$1);
%}
/* The native library is loaded by the JNI class: the full path in the system property
 * libvenseg.jni, else -Djava.library.path, else found from the jar: beside it (the build
 * tree) or where `cmake --install` put it relative to the jar (libvenseg/native.properties,
 * written by the build: share/java/venseg.jar -> lib/jni/libvenseg_java.so), so that an
 * installed prefix works wherever it is moved. */
%pragma(java) jniclasscode=%{
  static {
    String path = System.getProperty("libvenseg.jni");
    if (path != null && !path.isEmpty()) System.load(path);
    else {
      try {
        System.loadLibrary("venseg_java");
      } catch (UnsatisfiedLinkError e) {
        String found = vsFromJar();
        if (found == null) throw e;
        System.load(found);
      }
    }
  }

  private static String vsFromJar() {
    try {
      java.security.CodeSource cs = VensegJNI.class.getProtectionDomain().getCodeSource();
      if (cs == null) return null;
      java.io.File at = new java.io.File(cs.getLocation().toURI());
      java.io.File dir = at.isFile() ? at.getParentFile() : at;
      java.util.List<java.io.File> tries = new java.util.ArrayList<>();
      java.util.Properties p = new java.util.Properties();
      try (java.io.InputStream in = VensegJNI.class.getResourceAsStream("native.properties")) {
        if (in != null) {
          p.load(in);
          String rel = p.getProperty("jni");
          if (rel != null && !rel.isEmpty()) tries.add(new java.io.File(dir, rel));
        }
      }
      tries.add(new java.io.File(dir, System.mapLibraryName("venseg_java")));
      for (java.io.File f : tries)
        if (f.isFile()) return f.getCanonicalPath();
    } catch (Exception ignored) {
      // no jar location: the UnsatisfiedLinkError of loadLibrary is thrown
    }
    return null;
  }
%}
/* Native memory is freed by close() / delete(), or else once the proxy is unreachable, by
 * a java.lang.ref.Cleaner (finalize() is deprecated for removal). The cleaning action holds
 * only the pointer, never the proxy. */
%pragma(java) jniclasscode=%{
  static final java.lang.ref.Cleaner CLEANER = java.lang.ref.Cleaner.create();
%}
%typemap(javafinalize) SWIGTYPE ""
%typemap(javabody) SWIGTYPE %{
  private transient long swigCPtr;
  protected transient boolean swigCMemOwn;
  private transient java.lang.ref.Cleaner.Cleanable swigCleanable;

  protected $javaclassname(long cPtr, boolean cMemoryOwn) {
    swigCMemOwn = cMemoryOwn;
    swigCPtr = cPtr;
    if (cMemoryOwn && cPtr != 0) {
      final long ptr = cPtr;
      swigCleanable = $imclassname.CLEANER.register(this, () -> $imclassname.delete_$javaclassname(ptr));
    }
  }

  protected static long getCPtr($javaclassname obj) {
    return (obj == null) ? 0 : obj.swigCPtr;
  }
%}
%typemap(javadestruct, methodname="delete", methodmodifiers="public synchronized", parameters="") SWIGTYPE {
    if (swigCPtr != 0) {
      if (swigCMemOwn) {
        swigCMemOwn = false;
        swigCleanable.clean();
      }
      swigCPtr = 0;
    }
  }
%define VS_CLOSEABLE(TYPE)
%typemap(javainterfaces) TYPE, struct TYPE "AutoCloseable"
%typemap(javacode) TYPE, struct TYPE %{
  /** Frees the native object; further calls throw VENSEG_E_BAD_STATE. */
  @Override
  public void close() { delete(); }
%}
%enddef

#elif defined(SWIGCSHARP)
%{
typedef void (SWIGSTDCALL *vs_exception_callback)(int status, const char *name, const char *detail);
static vs_exception_callback vs_cs_callback;

SWIGEXPORT void SWIGSTDCALL VensegRegisterExceptionCallback(vs_exception_callback callback)
{
    vs_cs_callback = callback;
}
%}
%exception %{
  $action
  if (vs_status != VENSEG_OK) {
    if (vs_cs_callback) vs_cs_callback((int)vs_status, venseg_status_name(vs_status), vs_detail);
    vs_status = VENSEG_OK;
  }
%}
%pragma(csharp) imclasscode=%{
  protected class VsExceptionHelper {
    public delegate void Callback(int status, string name, string detail);
    static Callback callback = new Callback(Raise);
    [global::System.Runtime.InteropServices.DllImport("$dllimport", EntryPoint="VensegRegisterExceptionCallback")]
    public static extern void Register(Callback callback);
    static void Raise(int status, string name, string detail) {
      SWIGPendingException.Set(new VensegException(status, name, detail));
    }
    static VsExceptionHelper() { Register(callback); }
  }
  protected static VsExceptionHelper vsExceptionHelper = new VsExceptionHelper();

  [global::System.Runtime.InteropServices.StructLayout(global::System.Runtime.InteropServices.LayoutKind.Sequential)]
  public struct VsArray { public global::System.IntPtr data; public long length; }

  public static global::System.Runtime.InteropServices.GCHandle VsPin(global::System.Array a) {
    return a == null ? default(global::System.Runtime.InteropServices.GCHandle)
                     : global::System.Runtime.InteropServices.GCHandle.Alloc(a, global::System.Runtime.InteropServices.GCHandleType.Pinned);
  }
  public static VsArray VsView(global::System.Runtime.InteropServices.GCHandle h, global::System.Array a) {
    VsArray v;
    v.data = h.IsAllocated ? h.AddrOfPinnedObject() : global::System.IntPtr.Zero;
    v.length = a == null ? 0 : a.Length;
    return v;
  }
%}
%define VS_CLOSEABLE(TYPE)
%enddef
#else
#error "venseg.i generates Java and C# bindings only"
#endif

/* ---------------------------------------------------------------- arrays */

/* (pointer, element count) pairs of the functions below are one Java / C# array. */
#if defined(SWIGJAVA)
%define VS_ARRAY(CTYPE, JNITYPE, JARRAY, JTYPE, JNAME)
%typemap(jni) (CTYPE *ARRAY, int64_t LENGTH), (const CTYPE *ARRAY, int64_t LENGTH) "JARRAY"
%typemap(jtype) (CTYPE *ARRAY, int64_t LENGTH), (const CTYPE *ARRAY, int64_t LENGTH) "JTYPE[]"
%typemap(jstype) (CTYPE *ARRAY, int64_t LENGTH), (const CTYPE *ARRAY, int64_t LENGTH) "JTYPE[]"
%typemap(javain) (CTYPE *ARRAY, int64_t LENGTH), (const CTYPE *ARRAY, int64_t LENGTH) "$javainput"
%typemap(in) (CTYPE *ARRAY, int64_t LENGTH), (const CTYPE *ARRAY, int64_t LENGTH) %{
  $1 = NULL;
  $2 = 0;
  if ($input) {
    $1 = (CTYPE *)(*jenv)->Get##JNAME##ArrayElements(jenv, $input, NULL);
    if (!$1) return $null; /* OutOfMemoryError is pending */
    $2 = (int64_t)(*jenv)->GetArrayLength(jenv, $input);
  }
%}
/* Outputs are copied back; inputs are released without a copy. */
%typemap(freearg) (CTYPE *ARRAY, int64_t LENGTH) %{
  if ($1) (*jenv)->Release##JNAME##ArrayElements(jenv, $input, (JNITYPE *)$1, 0);
%}
%typemap(freearg) (const CTYPE *ARRAY, int64_t LENGTH) %{
  if ($1) (*jenv)->Release##JNAME##ArrayElements(jenv, $input, (JNITYPE *)$1, JNI_ABORT);
%}
%enddef
VS_ARRAY(uint8_t, jbyte, jbyteArray, byte, Byte)
VS_ARRAY(float, jfloat, jfloatArray, float, Float)
VS_ARRAY(double, jdouble, jdoubleArray, double, Double)
VS_ARRAY(int64_t, jlong, jlongArray, long, Long)
VS_ARRAY(int32_t, jint, jintArray, int, Int)

#else /* C#: pinned for the call, passed as {pointer, length} */
%{
typedef struct vs_cs_array { void *data; int64_t length; } vs_cs_array;
%}
%define VS_ARRAY(CTYPE, CSTYPE)
%typemap(ctype) (CTYPE *ARRAY, int64_t LENGTH), (const CTYPE *ARRAY, int64_t LENGTH) "vs_cs_array"
%typemap(imtype) (CTYPE *ARRAY, int64_t LENGTH), (const CTYPE *ARRAY, int64_t LENGTH) "$imclassname.VsArray"
%typemap(cstype) (CTYPE *ARRAY, int64_t LENGTH), (const CTYPE *ARRAY, int64_t LENGTH) "CSTYPE[]"
%typemap(csin,
         pre="    global::System.Runtime.InteropServices.GCHandle pin_$csinput = $imclassname.VsPin($csinput);",
         post="      if (pin_$csinput.IsAllocated) pin_$csinput.Free();")
         (CTYPE *ARRAY, int64_t LENGTH), (const CTYPE *ARRAY, int64_t LENGTH) "$imclassname.VsView(pin_$csinput, $csinput)"
%typemap(in) (CTYPE *ARRAY, int64_t LENGTH), (const CTYPE *ARRAY, int64_t LENGTH) %{
  $1 = (CTYPE *)$input.data;
  $2 = $input.length;
%}
%enddef
VS_ARRAY(uint8_t, byte)
VS_ARRAY(float, float)
VS_ARRAY(double, double)
VS_ARRAY(int64_t, long)
VS_ARRAY(int32_t, int)
#endif

/* The array parameters of the functions below (name, name_length). */
%apply (const uint8_t *ARRAY, int64_t LENGTH) {
  (const uint8_t *pred, int64_t pred_length), (const uint8_t *truth, int64_t truth_length),
  (const uint8_t *data, int64_t data_length), (const uint8_t *pixels, int64_t pixels_length),
  (const uint8_t *labels, int64_t labels_length) };
%apply (uint8_t *ARRAY, int64_t LENGTH) {
  (uint8_t *mask, int64_t mask_length), (uint8_t *pixels, int64_t pixels_length),
  (uint8_t *labels, int64_t labels_length) };
%apply (const float *ARRAY, int64_t LENGTH) {
  (const float *prob, int64_t prob_length), (const float *x, int64_t x_length),
  (const float *y, int64_t y_length), (const float *input, int64_t input_length) };
%apply (float *ARRAY, int64_t LENGTH) {
  (float *map, int64_t map_length), (float *probabilities, int64_t probabilities_length),
  (float *output, int64_t output_length) };
%apply (const int64_t *ARRAY, int64_t LENGTH) { (const int64_t *counts, int64_t counts_length) };
%apply (int64_t *ARRAY, int64_t LENGTH) { (int64_t *counts, int64_t counts_length), (int64_t *dims, int64_t dims_length) };
%apply (double *ARRAY, int64_t LENGTH) {
  (double *result, int64_t result_length), (double *vein, int64_t vein_length),
  (double *vein_smoothed, int64_t vein_smoothed_length), (double *artery, int64_t artery_length) };
%apply (int32_t *ARRAY, int64_t LENGTH) { (int32_t *frame_index, int64_t frame_index_length) };

/* ------------------------------------------------------ names and records */

/* The C enums under short names: Backend.REFERENCE, Status.E_IO, TrackerKey.FRAME_RATE ... */
%rename("%(regex:/^VENSEG_(?:(?:BACKEND|PRECISION|OPT|PIXEL|EMPTY|SSIM|TRACKER|VERDICT|EXAM|THROMBUS|PHANTOM|AREA|IDENTITY)_)?(.*)$/\\1/)s",
        %$isenumitem) "";
/* Constants of the headers in the module class: Venseg.FLAG_NO_VEIN, Venseg.SITE_POPLITEAL ... */
%rename("%(strip:[VENSEG_])s", %$isconstant) "";
/* C enum items share one scope: the phantom's frame rate cannot also be FRAME_RATE. */
%rename(PHANTOM_FRAME_RATE) VENSEG_PHANTOM_FRAME_RATE;
/* ... nor can the precision's AUTO also be the backend's (Precision.PRECISION_AUTO). */
%rename(PRECISION_AUTO) VENSEG_PRECISION_AUTO;
%rename(Status) venseg_status;
%rename(Backend) venseg_backend;
%rename(Precision) venseg_precision;
%rename(Option) venseg_option;
%rename(PixelFormat) venseg_pixel_format;
%rename(EmptyRule) venseg_empty_rule;
%rename(SsimWindow) venseg_ssim_window;
%rename(TrackerKey) venseg_tracker_key;
%rename(Verdict) venseg_verdict;
%rename(AreaUnit) venseg_area_unit;
%rename(ExamProtocol) venseg_exam_protocol;
%rename(ExamOutcome) venseg_exam_outcome;
%rename(Thrombus) venseg_thrombus;
%rename(PhantomKey) venseg_phantom_key;
%rename(VesselIdentity) venseg_vessel_identity;

/* Result records: the C structs, read-only, made only by the library calls below. */
%rename(Instance) venseg_instance;
%rename(TrackFrame) venseg_track_frame;
%rename(TrackedInstance) venseg_tracked_instance;
%rename(TrackSummary) venseg_track_summary;
%rename(PhantomTruth) venseg_phantom_truth;
%rename(ExamSite) venseg_exam_site;
%rename(ExamReport) venseg_exam_report;
%rename(PushResult) venseg_push_result;
%rename(Vessel) venseg_vessel;
%rename("%(lowercamelcase)s", %$isvariable, %$ismember) "";
%ignore struct_size;
%nodefaultctor venseg_instance;
%nodefaultctor venseg_track_frame;
%nodefaultctor venseg_tracked_instance;
%nodefaultctor venseg_track_summary;
%nodefaultctor venseg_phantom_truth;
%nodefaultctor venseg_exam_site;
%nodefaultctor venseg_exam_report;
%nodefaultctor venseg_push_result;
%nodefaultctor venseg_vessel;

/* The C functions are wrapped by the classes and functions below, not directly. */
%rename("$ignore", regextarget=1, %$isfunction) "^venseg_";
%ignore venseg_model;
%ignore venseg_options;
%ignore venseg_session_config;
%ignore venseg_session;
%ignore venseg_tracker_config;
%ignore venseg_tracker;
%ignore venseg_phantom_config;
%ignore venseg_phantom;
%ignore venseg_exam;

#define VENSEG_API
%immutable;
%include "venseg/venseg.h"
%include "venseg/venseg_tracking.h"
%mutable;

/* ------------------------------------------------------------- functions */

%rename(Model) vs_model;
%rename(Options) vs_options;
%rename(Session) vs_session;
%rename(TrackerConfig) vs_tracker_config;
%rename(Tracker) vs_tracker;
%rename(PhantomConfig) vs_phantom_config;
%rename(Phantom) vs_phantom;
%rename(Exam) vs_exam;
VS_CLOSEABLE(vs_model)
VS_CLOSEABLE(vs_options)
VS_CLOSEABLE(vs_session)
VS_CLOSEABLE(vs_tracker_config)
VS_CLOSEABLE(vs_tracker)
VS_CLOSEABLE(vs_phantom_config)
VS_CLOSEABLE(vs_phantom)
VS_CLOSEABLE(vs_exam)

/* Handles as SWIG sees them: no visible members. */
typedef struct vs_model {} vs_model;
typedef struct vs_options {} vs_options;
typedef struct vs_session {} vs_session;
typedef struct vs_tracker_config {} vs_tracker_config;
typedef struct vs_tracker {} vs_tracker;
typedef struct vs_phantom_config {} vs_phantom_config;
typedef struct vs_phantom {} vs_phantom;
typedef struct vs_exam {} vs_exam;

%newobject vs_model::fromBytes;
%newobject vs_session::instance;
%newobject vs_tracker::frame;
%newobject vs_tracker::summary;
%newobject vs_tracker::instance;
%newobject vs_tracker::vessel;
%newobject vs_phantom::truth;
%newobject vs_exam::report;
%newobject vs_exam::site;

%inline %{
static const char *versionString(void) { return venseg_version_string(); }
static int32_t versionNumber(void) { return (int32_t)venseg_version_number(); }
static const char *buildInfo(void) { return venseg_build_info(); }
static const char *statusName(int32_t status) { return venseg_status_name((venseg_status)status); }
static const char *verdictName(int32_t verdict) { return venseg_verdict_name((venseg_verdict)verdict); }
static const char *flagName(uint32_t flag) { return venseg_flag_name(flag); }
static const char *identityName(int32_t identity) { return venseg_identity_name((venseg_vessel_identity)identity); }
static const char *examOutcomeName(int32_t outcome)
{
    return venseg_exam_outcome_name((venseg_exam_outcome)outcome);
}

/* VENSEG_LABEL_BIT: the label-set bit of one label value (0..31). */
static uint32_t labelBit(int32_t value)
{
    if (value < 0 || value > 31) {
        vs_fail(VENSEG_E_INVALID_ARGUMENT, "label value %d is outside 0..31", (int)value);
        return 0;
    }
    return VENSEG_LABEL_BIT(value);
}

/* counts (long[3]) receives true positives, false positives, false negatives. */
static void overlapCounts(const uint8_t *pred, int64_t pred_length, uint32_t pred_labels,
                          const uint8_t *truth, int64_t truth_length, uint32_t truth_labels,
                          uint32_t ignore_labels, int32_t width, int32_t height,
                          int64_t *counts, int64_t counts_length)
{
    int64_t n = vs_area(width, height);
    if (vs_array(pred, pred_length, n, "pred", false) && vs_array(truth, truth_length, n, "truth", false) &&
        vs_array(counts, counts_length, 3, "counts", false))
        vs_ok(venseg_overlap_counts(pred, width, pred_labels, truth, width, truth_labels, ignore_labels, width,
                                    height, counts));
}

static void overlapCountsProb(const float *prob, int64_t prob_length, float threshold, const uint8_t *truth,
                              int64_t truth_length, uint32_t truth_labels, uint32_t ignore_labels, int32_t width,
                              int32_t height, int64_t *counts, int64_t counts_length)
{
    int64_t n = vs_area(width, height);
    if (vs_array(prob, prob_length, n, "prob", false) && vs_array(truth, truth_length, n, "truth", false) &&
        vs_array(counts, counts_length, 3, "counts", false))
        vs_ok(venseg_overlap_counts_prob(prob, width, threshold, truth, width, truth_labels, ignore_labels, width,
                                         height, counts));
}

static double dice(const int64_t *counts, int64_t counts_length, venseg_empty_rule rule, double smooth)
{
    double d = 0;
    if (vs_array(counts, counts_length, 3, "counts", false))
        vs_ok(venseg_dice(counts, rule, smooth, &d));
    return d;
}

static double jaccard(const int64_t *counts, int64_t counts_length, venseg_empty_rule rule, double smooth)
{
    double j = 0;
    if (vs_array(counts, counts_length, 3, "counts", false))
        vs_ok(venseg_jaccard(counts, rule, smooth, &j));
    return j;
}

/* map (nullable float[width * height]) receives the full SSIM map. */
static double ssim(const float *x, int64_t x_length, const float *y, int64_t y_length, int32_t width,
                   int32_t height, venseg_ssim_window window, int32_t win_size, bool sample_covariance,
                   double data_range, float *map, int64_t map_length)
{
    double m = 0;
    int64_t n = vs_area(width, height);
    if (vs_array(x, x_length, n, "x", false) && vs_array(y, y_length, n, "y", false) &&
        vs_array(map, map_length, n, "map", true))
        vs_ok(venseg_ssim(x, width, y, width, width, height, window, win_size, sample_covariance, data_range, &m,
                          map, width));
    return m;
}

/* result (double[3]) receives the percentile Hausdorff distance, the mean pred->truth
 * distance and the symmetric mean (ASSD). */
static void surfaceDistance(const uint8_t *pred, int64_t pred_length, uint32_t pred_labels,
                            const uint8_t *truth, int64_t truth_length, uint32_t truth_labels, int32_t width,
                            int32_t height, double spacing_x, double spacing_y, double percentile,
                            double *result, int64_t result_length)
{
    int64_t n = vs_area(width, height);
    if (vs_array(pred, pred_length, n, "pred", false) && vs_array(truth, truth_length, n, "truth", false) &&
        vs_array(result, result_length, 3, "result", false))
        vs_ok(venseg_surface_distance(pred, width, pred_labels, truth, width, truth_labels, width, height, spacing_x,
                                      spacing_y, percentile, &result[0], &result[1], &result[2]));
}

static double compressibility(double area_pre, double area_compressed)
{
    double c = 0;
    vs_ok(venseg_compressibility(area_pre, area_compressed, &c));
    return c;
}
%}

/* ---------------------------------------------------------------- model */

%extend vs_model {
  vs_model(const char *path) {
    venseg_model *m = NULL;
    VS_WRAP(vs_model, venseg_model_load_file(path, &m), m);
  }
  static vs_model *fromBytes(const uint8_t *data, int64_t data_length) {
    venseg_model *m = NULL;
    if (!vs_array(data, data_length, 0, "data", false))
      return NULL;
    VS_WRAP(vs_model, venseg_model_load_memory(data, (size_t)data_length, &m), m);
  }
  ~vs_model() {
    venseg_model_free($self->h);
    free($self);
  }
  int32_t inputWidth() { return vs_input_size($self, 0); }
  int32_t inputHeight() { return vs_input_size($self, 1); }
  int32_t inputChannels() { return vs_input_size($self, 2); }
  int32_t numClasses() {
    int32_t n = 0;
    vs_ok(venseg_model_class_count($self->h, &n));
    return n;
  }
  const char *className(int32_t index) {
    const char *name = NULL;
    vs_ok(venseg_model_class_name_at($self->h, index, &name));
    return name;
  }
  const char *metaString(const char *key) {
    const char *value = NULL;
    vs_ok(venseg_model_meta_string($self->h, key, &value));
    return value;
  }
  int64_t metaInt(const char *key) {
    int64_t value = 0;
    vs_ok(venseg_model_meta_int($self->h, key, &value));
    return value;
  }
  double metaDouble(const char *key) {
    double value = 0;
    vs_ok(venseg_model_meta_double($self->h, key, &value));
    return value;
  }
  int64_t parameterCount() {
    int64_t n = 0;
    vs_ok(venseg_model_parameter_count($self->h, &n));
    return n;
  }
}

/* -------------------------------------------------------------- options */

%extend vs_options {
  vs_options() {
    venseg_options *o = NULL;
    VS_WRAP(vs_options, venseg_session_config_create(&o), o);
  }
  ~vs_options() {
    venseg_session_config_free($self->h);
    free($self);
  }
  void set(venseg_option key, int64_t value) { vs_ok(venseg_session_config_set($self->h, key, value)); }
  int64_t get(venseg_option key) {
    int64_t value = 0;
    vs_ok(venseg_session_config_get($self->h, key, &value));
    return value;
  }
  static int64_t lowerBound(venseg_option key) { return vs_option_bound(key, false); }
  static int64_t upperBound(venseg_option key) { return vs_option_bound(key, true); }
}

/* -------------------------------------------------------------- session */


%extend vs_session {
  /* options: null for the defaults. */
  vs_session(vs_model *model) { return vs_session_new(model, NULL); }
  vs_session(vs_model *model, vs_options *options) { return vs_session_new(model, options); }
  ~vs_session() {
    venseg_session_free($self->h);
    free($self);
  }
  int64_t get(venseg_option key) {
    int64_t value = 0;
    vs_ok(venseg_session_get($self->h, key, &value));
    return value;
  }
  const char *describe() { return venseg_session_describe($self->h); }
  int32_t numClasses() { return $self->n_classes; }
  void setRoi(int32_t x, int32_t y, int32_t width, int32_t height) {
    vs_ok(venseg_session_set_roi($self->h, x, y, width, height));
  }
  void setPixelSpacing(double mmPerPxX, double mmPerPxY) {
    vs_ok(venseg_session_set_pixel_spacing($self->h, mmPerPxX, mmPerPxY));
  }
  /* A gray8 frame (width * height bytes) into labelMask (width * height bytes). */
  void segment(const uint8_t *pixels, int64_t pixels_length, int32_t width, int32_t height,
               uint8_t *mask, int64_t mask_length) {
    vs_session_segment($self, pixels, pixels_length, VENSEG_PIXEL_GRAY8, width, height, mask, mask_length,
                       NULL, 0);
  }
  /* Any byte format (tight rows); probabilities (nullable): numClasses() planes of
   * width * height floats. */
  void segment(const uint8_t *pixels, int64_t pixels_length, venseg_pixel_format format, int32_t width,
               int32_t height, uint8_t *mask, int64_t mask_length, float *probabilities,
               int64_t probabilities_length) {
    vs_session_segment($self, pixels, pixels_length, format, width, height, mask, mask_length, probabilities,
                       probabilities_length);
  }
  int32_t instanceCount() {
    int32_t n = 0;
    vs_ok(venseg_session_instance_count($self->h, &n));
    return n;
  }
  venseg_instance *instance(int32_t index) {
    VS_RECORD(venseg_instance, venseg_session_instance_at($self->h, index, r));
  }
}

/* -------------------------------------------------------------- tracker */

%extend vs_tracker_config {
  vs_tracker_config() {
    venseg_tracker_config *c = NULL;
    VS_WRAP(vs_tracker_config, venseg_tracker_config_create(&c), c);
  }
  ~vs_tracker_config() {
    venseg_tracker_config_free($self->h);
    free($self);
  }
  void set(venseg_tracker_key key, double value) { vs_ok(venseg_tracker_config_set($self->h, key, value)); }
  double get(venseg_tracker_key key) {
    double value = 0;
    vs_ok(venseg_tracker_config_get($self->h, key, &value));
    return value;
  }
  void setSite(const char *site) { vs_ok(venseg_tracker_config_set_site($self->h, site)); }
  const char *site() { return venseg_tracker_config_site($self->h); }
}

%extend vs_tracker {
  vs_tracker() {
    venseg_tracker *t = NULL;
    VS_WRAP(vs_tracker, venseg_tracker_create(NULL, &t), t);
  }
  vs_tracker(vs_tracker_config *config) {
    venseg_tracker *t = NULL;
    VS_WRAP(vs_tracker, venseg_tracker_create(config ? config->h : NULL, &t), t);
  }
  ~vs_tracker() {
    venseg_tracker_free($self->h);
    free($self);
  }
  void reset() { vs_ok(venseg_tracker_reset($self->h)); }
  /* Returns whether the frame was analysed (not skipped by the stride). */
  bool pushLabels(const uint8_t *labels, int64_t labels_length, int32_t width, int32_t height) {
    venseg_push_result r = {sizeof r, 0, 0, 0, 0};
    if (vs_array(labels, labels_length, vs_area(width, height), "labels", false))
      vs_ok(venseg_tracker_push_labels_ex($self->h, labels, width, width, height, &r));
    return r.analysed != 0;
  }
  /* labelMask (nullable) receives the mask of analysed frames. Returns whether the frame
   * was analysed. */
  bool pushFrame(vs_session *session, const uint8_t *pixels, int64_t pixels_length, int32_t width,
                 int32_t height, uint8_t *mask, int64_t mask_length) {
    venseg_push_result r = {sizeof r, 0, 0, 0, 0};
    int64_t n = vs_area(width, height);
    if (session == NULL || session->h == NULL)
      vs_fail(VENSEG_E_INVALID_ARGUMENT, "session is null or closed");
    else if (vs_array(pixels, pixels_length, n, "pixels", false) &&
             vs_array(mask, mask_length, n, "labelMask", true))
      vs_ok(venseg_tracker_push_frame_ex($self->h, session->h, pixels, VENSEG_PIXEL_GRAY8, width, height, width,
                                         mask, width, &r));
    return r.analysed != 0;
  }
  /* index: an analysed-frame index, -1 for the latest. */
  venseg_track_frame *frame(int32_t index) {
    VS_RECORD(venseg_track_frame, venseg_tracker_frame_at($self->h, index, r));
  }
  venseg_track_summary *summary() {
    VS_RECORD(venseg_track_summary, venseg_tracker_summary_get($self->h, r));
  }
  int32_t instanceCount() {
    int32_t n = 0;
    vs_ok(venseg_tracker_instance_count($self->h, &n));
    return n;
  }
  venseg_tracked_instance *instance(int32_t index) {
    VS_RECORD(venseg_tracked_instance, venseg_tracker_instance_at($self->h, index, r));
  }
  /* Every vessel track with its identity (VesselIdentity value) and evidence: the vein of
   * interest first, then the artery, then the others by size. */
  int32_t vesselCount() {
    int32_t n = 0;
    vs_ok(venseg_tracker_vessel_count($self->h, &n));
    return n;
  }
  venseg_vessel *vessel(int32_t index) {
    VS_RECORD(venseg_vessel, venseg_tracker_vessel_at($self->h, index, r));
  }
  /* The area curve: returns the number of analysed frames; each array (nullable, at
   * least that long) receives the pushed-frame index, raw and smoothed vein area and
   * artery area per analysed frame. */
  int32_t curve(venseg_area_unit unit, int32_t *frame_index, int64_t frame_index_length, double *vein,
                int64_t vein_length, double *vein_smoothed, int64_t vein_smoothed_length, double *artery,
                int64_t artery_length) {
    int32_t count = 0;
    venseg_status status = venseg_tracker_curve($self->h, unit, 0, &count, NULL, NULL, NULL, NULL);
    if (status != VENSEG_E_BUFFER_TOO_SMALL && !vs_ok(status)) /* too small: count is set */
      return 0;
    if (vs_array(frame_index, frame_index_length, count, "frameIndex", true) &&
        vs_array(vein, vein_length, count, "veinArea", true) &&
        vs_array(vein_smoothed, vein_smoothed_length, count, "veinAreaSmoothed", true) &&
        vs_array(artery, artery_length, count, "arteryArea", true))
      vs_ok(venseg_tracker_curve($self->h, unit, count, &count, frame_index, vein, vein_smoothed, artery));
    return count;
  }
}

/* ----------------------------------------------------------------- exam */

%extend vs_exam {
  vs_exam(venseg_exam_protocol protocol) {
    venseg_exam *e = NULL;
    VS_WRAP(vs_exam, venseg_exam_create(protocol, &e), e);
  }
  ~vs_exam() {
    venseg_exam_free($self->h);
    free($self);
  }
  void add(vs_tracker *tracker) {
    if (tracker == NULL || tracker->h == NULL)
      vs_fail(VENSEG_E_INVALID_ARGUMENT, "tracker is null or closed");
    else
      vs_ok(venseg_exam_add($self->h, tracker->h));
  }
  venseg_exam_report *report() {
    VS_RECORD(venseg_exam_report, venseg_exam_report_get($self->h, r));
  }
  venseg_exam_site *site(int32_t index) {
    VS_RECORD(venseg_exam_site, venseg_exam_site_at($self->h, index, r));
  }
}

/* -------------------------------------------------------------- phantom */

%extend vs_phantom_config {
  vs_phantom_config() {
    venseg_phantom_config *c = NULL;
    VS_WRAP(vs_phantom_config, venseg_phantom_config_create(&c), c);
  }
  ~vs_phantom_config() {
    venseg_phantom_config_free($self->h);
    free($self);
  }
  void set(venseg_phantom_key key, double value) { vs_ok(venseg_phantom_config_set($self->h, key, value)); }
  double get(venseg_phantom_key key) {
    double value = 0;
    vs_ok(venseg_phantom_config_get($self->h, key, &value));
    return value;
  }
}


%extend vs_phantom {
  vs_phantom() { return vs_phantom_new(NULL); }
  vs_phantom(vs_phantom_config *config) { return vs_phantom_new(config); }
  ~vs_phantom() {
    venseg_phantom_free($self->h);
    free($self);
  }
  int32_t width() { return $self->width; }
  int32_t height() { return $self->height; }
  int32_t frameCount() { return $self->frames; }
  /* pixels and labels: nullable, width() * height() bytes each. */
  void frame(int32_t index, uint8_t *pixels, int64_t pixels_length, uint8_t *labels, int64_t labels_length) {
    int64_t n = vs_area($self->width, $self->height);
    if (vs_array(pixels, pixels_length, n, "pixels", true) && vs_array(labels, labels_length, n, "labels", true))
      vs_ok(venseg_phantom_frame($self->h, index, pixels, $self->width, labels, $self->width));
  }
  venseg_phantom_truth *truth(int32_t index) {
    VS_RECORD(venseg_phantom_truth, venseg_phantom_truth_at($self->h, index, r));
  }
}

/* ------------------------------------------------------ experimental API */

/* Parts of venseg_experimental.h that tools use (int8 calibration, the input multiple,
 * MACs, the tensor directory, the network on a ready tensor), under names that say so:
 * ExperimentalCalibration and the static class Experimental. Like the C header they carry
 * no ABI promise: a release may change them (docs/java-csharp.md). */
%{
typedef struct vs_calibration { venseg_calibration *h; } vs_calibration;
typedef struct vs_experimental { int unused; } vs_experimental;

static bool vs_model_ok(const vs_model *model)
{
    if (model == NULL || model->h == NULL)
        vs_fail(VENSEG_E_INVALID_ARGUMENT, "model is null or closed");
    return model != NULL && model->h != NULL;
}

/* The tensor directory entry `index` of the model: false (recorded) on a bad index. */
static bool vs_tensor(const vs_model *model, int32_t index, const char **name, int32_t *ndim, int64_t dims[4],
                      int32_t *dtype)
{
    return vs_model_ok(model) && vs_ok(venseg_model_tensor_info(model->h, index, name, ndim, dims, dtype));
}
%}
%rename(ExperimentalCalibration) vs_calibration;
%rename(Experimental) vs_experimental;
VS_CLOSEABLE(vs_calibration)
typedef struct vs_calibration {} vs_calibration;
%nodefaultctor vs_experimental;
typedef struct vs_experimental {} vs_experimental;
%newobject vs_experimental::calibratedSession;

%extend vs_calibration {
  /* Records the largest |activation| of every layer over the frames added (fp32 reference
   * network), for int8 sessions: Experimental.calibratedSession. */
  vs_calibration(vs_model *model) {
    venseg_calibration *c = NULL;
    if (!vs_model_ok(model))
      return NULL;
    VS_WRAP(vs_calibration, venseg_calibration_create(model->h, &c), c);
  }
  ~vs_calibration() {
    venseg_calibration_free($self->h);
    free($self);
  }
  /* A frame (tight rows), preprocessed as segment() does (whole frame, no ROI). */
  void addFrame(const uint8_t *pixels, int64_t pixels_length, venseg_pixel_format format, int32_t width,
                int32_t height) {
    if (vs_array(pixels, pixels_length, vs_area(width, height) * vs_pixel_bytes(format), "pixels", false))
      vs_ok(venseg_calibration_add_frame($self->h, pixels, format, width, height,
                                         (int64_t)width * vs_pixel_bytes(format)));
  }
  /* A normalised network input [channels][height][width]. */
  void addTensor(const float *input, int64_t input_length, int32_t channels, int32_t height, int32_t width) {
    int64_t n = channels > 0 ? vs_area(width, height) * channels : 0;
    if (vs_array(input, input_length, n, "input", false))
      vs_ok(venseg_calibration_add_tensor($self->h, input, channels, height, width));
  }
  /* Entries: 0 is "input", the others a convolution or BN output. */
  int32_t count() {
    int32_t n = 0;
    vs_ok(venseg_calibration_count($self->h, &n));
    return n;
  }
  const char *entryName(int32_t index) {
    const char *name = NULL;
    double v = 0;
    vs_ok(venseg_calibration_entry($self->h, index, &name, &v));
    return name;
  }
  double entryMaxAbs(int32_t index) {
    const char *name = NULL;
    double v = 0;
    vs_ok(venseg_calibration_entry($self->h, index, &name, &v));
    return v;
  }
}

%extend vs_experimental {
  /* A session whose int8 ranges come from calibration (options: null for the defaults;
   * set Option.PRECISION to Precision.INT8 for an int8 session). */
  static vs_session *calibratedSession(vs_model *model, vs_options *options, vs_calibration *calibration) {
    if (calibration == NULL || calibration->h == NULL) {
      vs_fail(VENSEG_E_INVALID_ARGUMENT, "calibration is null or closed");
      return NULL;
    }
    return vs_session_make(model, options, calibration->h);
  }
  /* The spatial stride runTensor's height and width must be multiples of. */
  static int32_t inputMultiple(vs_model *model) {
    int32_t m = 0;
    if (vs_model_ok(model))
      vs_ok(venseg_model_input_multiple(model->h, &m));
    return m;
  }
  /* Multiply-accumulates of one forward pass at width x height (convolutions only). */
  static int64_t macs(vs_model *model, int32_t width, int32_t height) {
    int64_t m = 0;
    if (vs_model_ok(model))
      vs_ok(venseg_model_macs(model->h, width, height, &m));
    return m;
  }
  /* The model file's tensor directory. */
  static int32_t tensorCount(vs_model *model) {
    int32_t n = 0;
    if (vs_model_ok(model))
      vs_ok(venseg_model_tensor_count(model->h, &n));
    return n;
  }
  static const char *tensorName(vs_model *model, int32_t index) {
    const char *name = NULL;
    int32_t ndim = 0, dtype = 0;
    int64_t dims[4] = {0, 0, 0, 0};
    return vs_tensor(model, index, &name, &ndim, dims, &dtype) ? name : NULL;
  }
  /* dims (long[4]) receives the shape; returns the number of dimensions. */
  static int32_t tensorShape(vs_model *model, int32_t index, int64_t *dims, int64_t dims_length) {
    const char *name = NULL;
    int32_t ndim = 0, dtype = 0;
    if (vs_array(dims, dims_length, 4, "dims", false))
      vs_tensor(model, index, &name, &ndim, dims, &dtype);
    return ndim;
  }
  /* The stored dtype code of docs/weights-format.md. */
  static int32_t tensorDtype(vs_model *model, int32_t index) {
    const char *name = NULL;
    int32_t ndim = 0, dtype = 0;
    int64_t dims[4] = {0, 0, 0, 0};
    vs_tensor(model, index, &name, &ndim, dims, &dtype);
    return dtype;
  }
  /* The network on a normalised NCHW tensor (no resize, no normalisation; height and width
   * multiples of inputMultiple): output NCHW [n][numClasses][height][width], after the
   * output activation unless applyActivation is false. */
  static void runTensor(vs_session *session, const float *input, int64_t input_length, int32_t n, int32_t channels,
                        int32_t height, int32_t width, bool applyActivation, float *output, int64_t output_length) {
    int64_t px = n > 0 && channels > 0 ? vs_area(width, height) * n : 0;
    if (session == NULL || session->h == NULL)
      vs_fail(VENSEG_E_INVALID_ARGUMENT, "session is null or closed");
    else if (vs_array(input, input_length, px * channels, "input", false) &&
             vs_array(output, output_length, px * session->n_classes, "output", false))
      vs_ok(venseg_session_run_tensor(session->h, input, n, channels, height, width, applyActivation ? 1 : 0,
                                      output));
  }
}
