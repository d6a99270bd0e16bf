/* dicom_io.cpp: see dicom_io.h. The program's only C++: DCMTK is a C++ library. */
#include "util/dicom_io.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <new>

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dccodec.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcitem.h>
#include <dcmtk/dcmdata/dcmetinf.h>
#include <dcmtk/dcmdata/dcrledrg.h>
#include <dcmtk/dcmdata/dcuid.h>
#include <dcmtk/dcmdata/dcxfer.h>
#include <dcmtk/dcmimage/diregist.h> /* colour images (RGB, YBR, palette) in DicomImage */
#include <dcmtk/dcmimgle/dcmimage.h>
#include <dcmtk/dcmjpeg/djdecode.h>
#include <dcmtk/dcmjpls/djdecode.h>
#include <dcmtk/oflog/oflog.h>

enum { MAX_SIDE = 1 << 15 };

/* DCMTK's decoders are registered once per process and stay (they hold no file state). */
static void dcmtk_init()
{
    static bool done = false;
    if (done) return;
    done = true;
    OFLog::configure(OFLogger::OFF_LOG_LEVEL); /* its errors come back through OFCondition and EI_Status */
    DJDecoderRegistration::registerCodecs();   /* JPEG baseline, extended, spectral, progressive, lossless */
    DJLSDecoderRegistration::registerCodecs(); /* JPEG-LS */
    DcmRLEDecoderRegistration::registerCodecs();
}

struct vs_dicom {
    DcmFileFormat file;
    DicomImage *image;
    vs_dicom_info info;
    int32_t next; /* the frame the next vs_dicom_next() returns */
};

static const char *grey_mapping_of(DicomImage *im, const vs_dicom_info *in);

/* The ultrasound region that gives the spacing and the default ROI: of the regions with
 * physical units of cm in x and y and deltas > 0, a 2D one (RegionSpatialFormat 1) before
 * others, the largest first. */
static void ultrasound_region(DcmDataset *ds, vs_dicom_info *in)
{
    DcmSequenceOfItems *seq = NULL;
    if (ds->findAndGetSequence(DCM_SequenceOfUltrasoundRegions, seq).bad() || !seq) return;
    double best_score = -1;
    for (unsigned long i = 0; i < seq->card(); i++) {
        DcmItem *it = seq->getItem(i);
        Uint16 ux = 0, uy = 0, fmt = 0;
        Float64 dx = 0, dy = 0;
        Uint32 x0 = 0, y0 = 0, x1 = 0, y1 = 0;
        if (!it || it->findAndGetUint16(DCM_PhysicalUnitsXDirection, ux).bad() ||
            it->findAndGetUint16(DCM_PhysicalUnitsYDirection, uy).bad() ||
            it->findAndGetFloat64(DCM_PhysicalDeltaX, dx).bad() || it->findAndGetFloat64(DCM_PhysicalDeltaY, dy).bad())
            continue;
        if (ux != 3 || uy != 3 || !(dx > 0) || !(dy > 0)) continue; /* 3: cm; others are time, velocity, ... */
        it->findAndGetUint16(DCM_RegionSpatialFormat, fmt);
        int have_box = it->findAndGetUint32(DCM_RegionLocationMinX0, x0).good() &&
                       it->findAndGetUint32(DCM_RegionLocationMinY0, y0).good() &&
                       it->findAndGetUint32(DCM_RegionLocationMaxX1, x1).good() &&
                       it->findAndGetUint32(DCM_RegionLocationMaxY1, y1).good() && x1 >= x0 && y1 >= y0 &&
                       x0 < (Uint32)in->width && y0 < (Uint32)in->height;
        double area = have_box ? ((double)x1 - x0 + 1) * ((double)y1 - y0 + 1) : 0;
        double score = (fmt == 1 ? 1e12 : 0) + area;
        if (score <= best_score) continue;
        best_score = score;
        in->spacing_x = dx * 10.0, in->spacing_y = dy * 10.0;
        in->spacing_source = "dicom:SequenceOfUltrasoundRegions";
        in->roi[0] = in->roi[1] = in->roi[2] = in->roi[3] = 0;
        in->roi_source = "";
        if (have_box) { /* bounds are inclusive; clipped to the frame */
            if (x1 >= (Uint32)in->width) x1 = (Uint32)in->width - 1;
            if (y1 >= (Uint32)in->height) y1 = (Uint32)in->height - 1;
            in->roi[0] = (int32_t)x0, in->roi[1] = (int32_t)y0;
            in->roi[2] = (int32_t)(x1 - x0 + 1), in->roi[3] = (int32_t)(y1 - y0 + 1);
            in->roi_source = "dicom:SequenceOfUltrasoundRegions";
        }
    }
}

/* The header: sizes, photometric, transfer syntax, spacing, frame rate, region. 0, or -1. */
static int read_info(DcmFileFormat &file, vs_dicom_info *in, char *err, size_t err_size)
{
    DcmDataset *ds = file.getDataset();
    memset(in, 0, sizeof *in);
    in->spacing_source = in->fps_source = in->roi_source = in->grey_mapping = "";
    E_TransferSyntax xfer = ds->getOriginalXfer();
    DcmXfer x(xfer);
    OFString uid;
    if (file.getMetaInfo()->findAndGetOFString(DCM_TransferSyntaxUID, uid).bad()) uid = x.getXferID();
    snprintf(in->transfer_syntax_uid, sizeof in->transfer_syntax_uid, "%s", uid.c_str());
    snprintf(in->transfer_syntax, sizeof in->transfer_syntax, "%s",
             xfer == EXS_Unknown ? dcmFindNameOfUID(uid.c_str(), "unknown") : x.getXferName());
    OFString s;
    if (ds->findAndGetOFString(DCM_Modality, s).good()) snprintf(in->modality, sizeof in->modality, "%s", s.c_str());
    if (!ds->tagExists(DCM_PixelData)) {
        snprintf(err, err_size, VS_DICOM_BAD "no pixel data (7FE0,0010)%s%s: not an image", in->modality[0] ? "; modality " : "",
                 in->modality);
        return -1;
    }
    if (x.isEncapsulated() && !DcmCodecList::canChangeCoding(xfer, EXS_LittleEndianExplicit)) {
        snprintf(err, err_size,
                 VS_DICOM_UNSUPPORTED "transfer syntax %s (%s), which this DCMTK cannot decode (it decodes "
                                      "uncompressed, deflated, RLE, JPEG baseline/extended/lossless and JPEG-LS)",
                 in->transfer_syntax, in->transfer_syntax_uid);
        return -1;
    }
    Uint16 rows = 0, cols = 0, spp = 0, alloc = 0, stored = 0;
    if (ds->findAndGetUint16(DCM_Rows, rows).bad() || ds->findAndGetUint16(DCM_Columns, cols).bad() ||
        ds->findAndGetUint16(DCM_SamplesPerPixel, spp).bad() || ds->findAndGetUint16(DCM_BitsAllocated, alloc).bad() ||
        ds->findAndGetOFString(DCM_PhotometricInterpretation, s).bad()) {
        snprintf(err, err_size,
                 VS_DICOM_BAD "an image without Rows, Columns, SamplesPerPixel, BitsAllocated or "
                              "PhotometricInterpretation (0028,xxxx)");
        return -1;
    }
    if (ds->findAndGetUint16(DCM_BitsStored, stored).bad()) stored = alloc;
    snprintf(in->photometric, sizeof in->photometric, "%s", s.c_str());
    Sint32 frames = 1;
    if (ds->tagExists(DCM_NumberOfFrames) && (ds->findAndGetSint32(DCM_NumberOfFrames, frames).bad() || frames < 1)) {
        snprintf(err, err_size, VS_DICOM_BAD "NumberOfFrames (0028,0008) is not a number >= 1");
        return -1;
    }
    if (rows < 1 || cols < 1 || rows > MAX_SIDE || cols > MAX_SIDE) {
        snprintf(err, err_size, VS_DICOM_UNSUPPORTED "%ux%u px (at most %d a side)", cols, rows, MAX_SIDE);
        return -1;
    }
    if ((alloc != 8 && alloc != 16) || stored < 1 || stored > alloc) {
        snprintf(err, err_size, VS_DICOM_UNSUPPORTED "BitsAllocated %u, BitsStored %u (venseg reads 8 or 16 bits)",
                 alloc, stored);
        return -1;
    }
    in->width = cols, in->height = rows, in->frames = frames;
    in->bits_stored = stored;
    in->channels = spp == 1 && strcmp(in->photometric, "PALETTE COLOR") != 0 ? 1 : 3;
    /* DCMTK's image module expands only plain palette LUTs (0028,1201-1203); the segmented form
     * (e.g. ALOKA ultrasound) would otherwise fail later as a vague "invalid element value" */
    if (in->channels == 3 && spp == 1 && !ds->tagExists(DCM_RedPaletteColorLookupTableData) &&
        ds->tagExists(DCM_SegmentedRedPaletteColorLookupTableData)) {
        snprintf(err, err_size,
                 VS_DICOM_UNSUPPORTED "PALETTE COLOR with segmented lookup tables (0028,1221-1223), which DCMTK's "
                                      "image module does not expand (venseg.io.read_dicom reads them with pydicom)");
        return -1;
    }

    ultrasound_region(ds, in);
    Float64 ps[2] = {0, 0};
    if (!in->spacing_source[0] && ds->findAndGetFloat64(DCM_PixelSpacing, ps[0], 0).good() &&
        ds->findAndGetFloat64(DCM_PixelSpacing, ps[1], 1).good() && ps[0] > 0 && ps[1] > 0) {
        in->spacing_x = ps[1], in->spacing_y = ps[0]; /* row spacing (y) first, then column spacing (x) */
        in->spacing_source = "dicom:PixelSpacing";
    }
    Float64 ft = 0;
    Sint32 rate = 0;
    if (ds->findAndGetFloat64(DCM_FrameTime, ft).good() && ft > 0)
        in->fps = 1000.0 / ft, in->fps_source = "dicom:FrameTime";
    else if (ds->findAndGetSint32(DCM_CineRate, rate).good() && rate > 0)
        in->fps = rate, in->fps_source = "dicom:CineRate";
    else if (ds->findAndGetSint32(DCM_RecommendedDisplayFrameRate, rate).good() && rate > 0)
        in->fps = rate, in->fps_source = "dicom:RecommendedDisplayFrameRate";
    return 0;
}

/* Loads the file (pixel data stays on disk until a frame is asked for). 0, or -1. */
static int load(DcmFileFormat &file, const char *path, vs_dicom_info *in, char *err, size_t err_size)
{
    dcmtk_init();
    unsigned char head[132];
    FILE *f = fopen(path, "rb");
    size_t got = f ? fread(head, 1, sizeof head, f) : 0;
    if (f) fclose(f);
    int part10 = got == sizeof head && memcmp(head + 128, "DICM", 4) == 0;
    OFCondition c = file.loadFile(OFFilename(path), EXS_Unknown, EGL_noChange, DCM_MaxReadLength, ERM_autoDetect);
    if (c.bad() && !part10) {
        snprintf(err, err_size, VS_DICOM_BAD "not a DICOM file (no \"DICM\" at byte 128, and DCMTK cannot read it as a "
                                             "data set: %s)", c.text());
        return -1;
    }
    if (c.bad()) {
        snprintf(err, err_size, VS_DICOM_BAD "DCMTK cannot read it: %s%s", c.text(),
                 strstr(c.text(), "end of stream") ? " (the file is cut short)" : " (the file is damaged or cut short)");
        return -1;
    }
    return read_info(file, in, err, err_size);
}

/* Why frame `frame` of compressed pixel data does not decode: "; <codec's words>", or "". */
static OFString decode_error(DcmDataset *ds, int32_t frame)
{
    DcmElement *px = NULL;
    if (!DcmXfer(ds->getOriginalXfer()).isEncapsulated() || ds->findAndGetElement(DCM_PixelData, px).bad() || !px)
        return "";
    Uint32 size = 0, start = 0;
    OFString colour;
    OFCondition c = px->getUncompressedFrameSize(ds, size);
    if (c.good() && size > 0 && size < (1u << 30)) {
        char *buf = new (std::nothrow) char[size];
        if (!buf) return "";
        c = px->getUncompressedFrame(ds, (Uint32)frame, start, buf, size, colour);
        delete[] buf;
    }
    return c.bad() ? OFString("; the compressed pixel data: ") + c.text() : OFString("");
}

/* A DicomImage of count frames from first, with grey mapped to 8 bits as dicom_io.h says. */
static DicomImage *make_image(DcmFileFormat &file, vs_dicom_info *in, int32_t first, char *err, size_t err_size)
{
    DcmDataset *ds = file.getDataset();
    DicomImage *im = new (std::nothrow)
        DicomImage(ds, ds->getOriginalXfer(),
                   CIF_UsePartialAccessToPixelData | CIF_UseAbsolutePixelRange | CIF_NeverAccessEmbeddedOverlays,
                   (unsigned long)first, 1);
    if (!im) {
        snprintf(err, err_size, "out of memory");
        return NULL;
    }
    EI_Status st = im->getStatus();
    if (st != EIS_Normal) {
        snprintf(err, err_size, "%s%s pixels that DCMTK cannot decode (%s%s)",
                 st == EIS_NotSupportedValue ? VS_DICOM_UNSUPPORTED : VS_DICOM_BAD, in->photometric,
                 DicomImage::getString(st), decode_error(ds, first).c_str());
        delete im;
        return NULL;
    }
    if ((long)im->getWidth() != in->width || (long)im->getHeight() != in->height) {
        snprintf(err, err_size, VS_DICOM_BAD "DCMTK made a %lux%lu image of a %dx%d header", im->getWidth(),
                 im->getHeight(), in->width, in->height);
        delete im;
        return NULL;
    }
    in->channels = im->isMonochrome() ? 1 : 3;
    if (in->channels == 1) {
        in->grey_mapping = grey_mapping_of(im, in);
        if (!in->grey_mapping) {
            snprintf(err, err_size,
                     VS_DICOM_UNSUPPORTED "%d-bit grey without a VOI window or VOI LUT: venseg reads grey of up to 8 "
                                          "bits, deeper grey only through the file's own window",
                     in->bits_stored);
            delete im;
            return NULL;
        }
    }
    return im;
}

/* Grey of up to 8 bits: the stored values (no VOI). Deeper: the file's first window or VOI
 * LUT; NULL when it has neither. */
static const char *grey_mapping_of(DicomImage *im, const vs_dicom_info *in)
{
    if (in->bits_stored <= 8) {
        im->setNoVoiTransformation();
        /* DCMTK's own inversion of MONOCHROME1 is off by one for half the values: the stored
         * values are rendered as they are, and render() inverts them */
        if (!strcmp(in->photometric, "MONOCHROME1")) im->setPolarity(EPP_Reverse);
        return "";
    }
    if (im->getWindowCount() > 0 && im->setWindow(0)) return "dicom:WindowCenter/Width";
    if (im->getVoiLutCount() > 0 && im->setVoiLut(0)) return "dicom:VOILUTSequence";
    return NULL;
}

/* The current frame of im (its first processed one) into out: grey (channels 1) or RGB. */
static int render(DicomImage *im, const vs_dicom_info *in, int32_t frame, uint8_t *out, int channels, char *err,
                  size_t err_size)
{
    size_t px = (size_t)in->width * in->height;
    const uint8_t *p = (const uint8_t *)im->getOutputData(8, 0, 0);
    if (!p) {
        snprintf(err, err_size, VS_DICOM_BAD "frame %d of %d cannot be decoded (%s)%s", frame + 1, in->frames,
                 DicomImage::getString(im->getStatus()),
                 im->getStatus() == EIS_Normal ? ": the pixel data is damaged or cut short" : "");
        return -1;
    }
    int invert = in->channels == 1 && in->bits_stored <= 8 && !strcmp(in->photometric, "MONOCHROME1");
    if (invert) {
        for (size_t i = 0; i < px; i++)
            if (channels == 3) out[3 * i] = out[3 * i + 1] = out[3 * i + 2] = (uint8_t)(255 - p[i]);
            else out[i] = (uint8_t)(255 - p[i]);
    } else if (in->channels == channels) memcpy(out, p, px * channels);
    else if (channels == 3)
        for (size_t i = 0; i < px; i++) out[3 * i] = out[3 * i + 1] = out[3 * i + 2] = p[i];
    else return -1; /* colour frames are not made grey here */
    return 0;
}

extern "C" int vs_dicom_probe(const char *path, vs_dicom_info *info, char *err, size_t err_size)
{
    try {
        DcmFileFormat file;
        vs_dicom_info in;
        if (load(file, path, &in, err, err_size) != 0) return -1;
        if (info) *info = in;
        return 0;
    } catch (const std::bad_alloc &) {
        snprintf(err, err_size, "out of memory");
        return -1;
    }
}

extern "C" int vs_dicom_open(const char *path, vs_dicom **out, vs_dicom_info *info, char *err, size_t err_size)
{
    *out = NULL;
    vs_dicom *d = new (std::nothrow) vs_dicom();
    if (!d) {
        snprintf(err, err_size, "out of memory");
        return -1;
    }
    try {
        if (load(d->file, path, &d->info, err, err_size) != 0 ||
            !(d->image = make_image(d->file, &d->info, 0, err, err_size))) {
            delete d;
            return -1;
        }
    } catch (const std::bad_alloc &) {
        snprintf(err, err_size, "out of memory");
        delete d;
        return -1;
    }
    if (info) *info = d->info;
    *out = d;
    return 0;
}

extern "C" int vs_dicom_next(vs_dicom *d, uint8_t *rgb, char *err, size_t err_size)
{
    if (d->next >= d->info.frames) return 0;
    try {
        /* the image holds one frame at a time: the first came with the constructor */
        if (d->next > 0 && !d->image->processNextFrames(1)) {
            snprintf(err, err_size, VS_DICOM_BAD "frame %d of %d cannot be decoded (%s): the pixel data is damaged or cut short",
                     d->next + 1, d->info.frames, DicomImage::getString(d->image->getStatus()));
            return -1;
        }
        if (render(d->image, &d->info, d->next, rgb, 3, err, err_size) != 0) return -1;
    } catch (const std::bad_alloc &) {
        snprintf(err, err_size, "out of memory");
        return -1;
    }
    d->next++;
    return 1;
}

extern "C" void vs_dicom_close(vs_dicom *d)
{
    if (!d) return;
    delete d->image;
    delete d;
}

extern "C" int vs_dicom_read_frame(const char *path, int32_t frame, vs_png *out, vs_dicom_info *info, char *err,
                                   size_t err_size)
{
    memset(out, 0, sizeof *out);
    try {
        DcmFileFormat file;
        vs_dicom_info in;
        if (load(file, path, &in, err, err_size) != 0) return -1;
        if (frame < 0 || frame >= in.frames) {
            snprintf(err, err_size, "no frame %d: the file has %d", frame + 1, in.frames);
            return -1;
        }
        DicomImage *im = make_image(file, &in, frame, err, err_size);
        if (!im) return -1;
        uint8_t *data = (uint8_t *)malloc((size_t)in.width * in.height * in.channels);
        int rc = data ? render(im, &in, frame, data, in.channels, err, err_size) : -1;
        if (!data) snprintf(err, err_size, "out of memory");
        delete im;
        if (rc != 0) {
            free(data);
            return -1;
        }
        out->width = in.width, out->height = in.height;
        out->channels = in.channels, out->bits = 8;
        out->data = data;
        if (info) *info = in;
        return 0;
    } catch (const std::bad_alloc &) {
        snprintf(err, err_size, "out of memory");
        return -1;
    }
}
