// The C# binding against known answers; the twin of VensegTest.java, check for check:
//   mcs -r:DIR/venseg.dll VensegTest.cs && mono VensegTest.exe tiny_plain_unet.vseg unet16.vseg
// Expected values: tests/data/README.md (the tiny model), hand-counted masks (metrics),
// tests/test_metrics.cpp (compressibility 149 -> 29 px), the phantom's own truth (tracker).
using System;
using System.IO;
using System.Linq;
using LibVenseg;

class VensegTest {
  static int failures = 0;

  static void check(bool ok, string what) {
    Console.WriteLine((ok ? "ok   " : "FAIL ") + what);
    if (!ok) failures++;
  }

  static void near(double got, double want, double tol, string what) {
    check(Math.Abs(got - want) <= tol, what + " = " + got.ToString("R") + " (want " + want.ToString("R") + ")");
  }

  // The call must throw a VensegException with this status name and a detail message.
  static void fails(string status, string what, Action call) {
    try {
      call();
      check(false, what + ": no exception (want " + status + ")");
    } catch (VensegException e) {
      check(e.getStatusName() == status && e.getDetail() != ""
                && ((Status)e.getStatus()).ToString() == status.Substring("VENSEG_".Length),
            what + " -> " + e.Message);
    }
  }

  static int count(byte[] mask, int label) {
    return mask.Count(v => v == label);
  }

  static void model(string tiny) {
    using (var m = new Model(tiny)) {
      check(m.inputWidth() == 32 && m.inputHeight() == 32 && m.inputChannels() == 1, "tiny model input 32x32x1");
      check(m.numClasses() == 2 && m.className(0) == "artery" && m.className(1) == "vein",
            "tiny model classes artery, vein");
      check(m.metaString("general.name") == "tiny_plain_unet", "general.name");
      check(m.metaInt("provenance.trained") == 0, "provenance.trained = 0");
      near(m.metaDouble("output.threshold"), 0.5, 0, "output.threshold");
      fails("VENSEG_E_NOT_FOUND", "unknown metadata key", () => m.metaString("no.such.key"));
      fails("VENSEG_E_NOT_FOUND", "class index 2", () => m.className(2));
    }
    byte[] bytes = File.ReadAllBytes(tiny);
    using (var m = Model.fromBytes(bytes)) {
      check(m.numClasses() == 2 && m.metaString("general.name") == "tiny_plain_unet", "Model.fromBytes");
    }
    fails("VENSEG_E_IO", "missing model file", () => new Model("/nonexistent/dir/model.vseg"));
    fails("VENSEG_E_BAD_FILE", "zero bytes as a model", () => Model.fromBytes(new byte[256]));
    fails("VENSEG_E_INVALID_ARGUMENT", "null model bytes", () => Model.fromBytes(null));
  }

  static void session(string trained) {
    using (var m = new Model(trained))
    using (var o = new Options())
    using (var p = new Phantom()) {
      check(m.parameterCount() == 1940834, "unet16 stores 1,940,834 parameter values (BN folded; weights/unet16.md): " + m.parameterCount());
      o.set(Option.BACKEND, (long)Backend.REFERENCE);
      o.set(Option.NUM_THREADS, 1);
      fails("VENSEG_E_INVALID_ARGUMENT", "NUM_THREADS -5", () => o.set(Option.NUM_THREADS, -5));
      check(o.get(Option.NUM_THREADS) == 1, "options keep the valid value");
      check(Options.upperBound(Option.NUM_THREADS) == 1024, "NUM_THREADS upper bound 1024");
      var s = new Session(m, o);
      using (s) {
        check(s.get(Option.BACKEND) == (long)Backend.REFERENCE && s.get(Option.NUM_THREADS) == 1,
              "session runs reference, 1 thread: " + s.describe());
        int w = p.width(), h = p.height();
        byte[] px = new byte[w * h], mask = new byte[w * h], again = new byte[w * h];
        float[] prob = new float[2 * w * h];
        p.frame(0, px, null);
        s.segment(px, PixelFormat.GRAY8, w, h, mask, prob);
        bool labelsOk = true, probOk = true;
        for (int i = 0; i < w * h; i++) {
          labelsOk &= mask[i] <= 2;
          if (mask[i] > 0) probOk &= prob[(mask[i] - 1) * w * h + i] > 0.5f;
        }
        check(labelsOk, "mask labels in 0..2");
        check(probOk, "every labelled pixel has its class probability > 0.5");
        int vessel = count(mask, 1) + count(mask, 2);
        check(vessel > 0, "the model finds vessels in the phantom frame (" + vessel + " px)");
        long instances = 0;
        for (int i = 0; i < s.instanceCount(); i++) {
          Instance inst = s.instance(i);
          instances += inst.areaPx;
          check(inst.label >= 1 && inst.label <= 2 && inst.meanProbability > 0.5, "instance " + i);
        }
        check(instances == vessel, "instance areas sum to the labelled pixels (" + instances + ")");
        Instance first = s.instance(0);
        first.Dispose();
        fails("VENSEG_E_BAD_STATE", "a disposed record", () => { long a = first.areaPx; });
        check(s.instanceCount() > 0, "the next call after that error succeeds");
        s.segment(px, w, h, again);
        check(mask.SequenceEqual(again), "gray8 overload gives the same mask");

        fails("VENSEG_E_INVALID_ARGUMENT", "width 0", () => s.segment(px, 0, h, again));
        fails("VENSEG_E_INVALID_ARGUMENT", "null pixels", () => s.segment(null, w, h, again));
        fails("VENSEG_E_BUFFER_TOO_SMALL", "mask too small", () => s.segment(px, w, h, new byte[w]));
        fails("VENSEG_E_BUFFER_TOO_SMALL", "probabilities too small",
              () => s.segment(px, PixelFormat.GRAY8, w, h, again, new float[w * h]));
        fails("VENSEG_E_NOT_FOUND", "instance 9999", () => s.instance(9999));
        for (int i = 0; i < again.Length; i++) again[i] = 9;
        s.segment(px, w, h, again);
        check(mask.SequenceEqual(again), "the session still works after the errors");
      }
      fails("VENSEG_E_BAD_STATE", "a disposed session", () => s.describe());
    }
  }

  static void metrics() {
    // 2x2: pred {1,1,0,0}, truth {1,0,1,0}: tp 1, fp 1, fn 1.
    long[] c = new long[3];
    uint artery = Venseg.labelBit(1);
    Venseg.overlapCounts(new byte[] {1, 1, 0, 0}, artery, new byte[] {1, 0, 1, 0}, artery, 0, 2, 2, c);
    check(c[0] == 1 && c[1] == 1 && c[2] == 1, "overlap counts 1, 1, 1");
    near(Venseg.dice(c, EmptyRule.NAN, 0), 0.5, 1e-15, "Dice 2/4");
    near(Venseg.jaccard(c, EmptyRule.NAN, 0), 1.0 / 3, 1e-15, "Jaccard 1/3");
    // 4x4: everything predicted, truth the left half, label 3 ignored in the last row.
    byte[] all = Enumerable.Repeat((byte)1, 16).ToArray(), half = new byte[16];
    for (int i = 0; i < 16; i++) half[i] = (byte)(i >= 12 ? 3 : i % 4 < 2 ? 1 : 0);
    Venseg.overlapCounts(all, artery, half, artery, Venseg.labelBit(3), 4, 4, c);
    check(c[0] == 6 && c[1] == 6 && c[2] == 0, "counts with ignored label 6, 6, 0");
    near(Venseg.dice(c, EmptyRule.NAN, 0), 12.0 / 18, 1e-15, "Dice 12/18");
    Venseg.overlapCountsProb(new float[] {0.9f, 0.2f, 0.6f, 0.5f}, 0.5f, new byte[] {1, 1, 0, 0}, artery, 0, 2, 2, c);
    check(c[0] == 1 && c[1] == 1 && c[2] == 1, "probability counts (p > 0.5 strictly)");
    long[] empty = {0, 0, 0};
    check(double.IsNaN(Venseg.dice(empty, EmptyRule.NAN, 0)), "empty truth, NAN rule");
    near(Venseg.dice(empty, EmptyRule.MONAI, 0), 1, 0, "empty truth and prediction, MONAI rule");
    fails("VENSEG_E_UNDEFINED", "empty masks, SMOOTH rule, smooth 0", () => Venseg.dice(empty, EmptyRule.SMOOTH, 0));
    fails("VENSEG_E_BUFFER_TOO_SMALL", "counts of 2", () => Venseg.dice(new long[2], EmptyRule.NAN, 0));

    float[] x = new float[16 * 16], map = new float[16 * 16];
    for (int i = 0; i < x.Length; i++) x[i] = (float)Math.Sin(0.37 * i);
    near(Venseg.ssim(x, x, 16, 16, SsimWindow.UNIFORM, 7, true, 2.0, map), 1, 1e-12, "SSIM(x, x)");
    near(map[0] + map[255], 2, 1e-6, "SSIM map of x, x is 1");
    fails("VENSEG_E_INVALID_ARGUMENT", "SSIM data range 0",
          () => Venseg.ssim(x, x, 16, 16, SsimWindow.UNIFORM, 7, true, 0, null));

    // One pixel each, 3 columns apart: every surface distance is 3 px (1.5 mm at 0.5 mm/px).
    byte[] a = new byte[64], b = new byte[64];
    a[2 * 8 + 2] = 1;
    b[2 * 8 + 5] = 1;
    double[] d = new double[3];
    Venseg.surfaceDistance(a, artery, b, artery, 8, 8, 0.5, 0.5, 100, d);
    check(d[0] == 1.5 && d[1] == 1.5 && d[2] == 1.5, "surface distances 1.5 mm");

    near(Venseg.compressibility(149, 29), 80.5369, 1e-4, "compressibility 149 -> 29 px");
    near(Venseg.compressibility(149, 29), 12000.0 / 149, 1e-12, "compressibility = 12000/149");
    fails("VENSEG_E_UNDEFINED", "compressibility of no vein", () => Venseg.compressibility(0, 0));
    fails("VENSEG_E_INVALID_ARGUMENT", "label bit 32", () => Venseg.labelBit(32));
  }

  // Truth masks of a seeded phantom through the tracker (as tests/test_tracker.cpp does).
  static TrackSummary trackPhantom(double seed, Thrombus thrombus, Exam exam, string site) {
    using (var pc = new PhantomConfig())
    using (var tc = new TrackerConfig()) {
      pc.set(PhantomKey.SEED, seed);
      pc.set(PhantomKey.THROMBUS, (int)thrombus);
      pc.set(PhantomKey.WIDTH, 128);
      pc.set(PhantomKey.HEIGHT, 128);
      pc.set(PhantomKey.PIXEL_SPACING, 0.3);
      tc.set(TrackerKey.PIXEL_SPACING_X, 0.3);
      tc.set(TrackerKey.PIXEL_SPACING_Y, 0.3);
      tc.set(TrackerKey.FRAME_RATE, 30);
      tc.set(TrackerKey.FRAME_STRIDE, 2);
      tc.setSite(site);
      using (var p = new Phantom(pc))
      using (var t = new Tracker(tc)) {
        byte[] labels = new byte[128 * 128];
        for (int i = 0; i < p.frameCount(); i++) {
          p.frame(i, null, labels);
          t.pushLabels(labels, 128, 128);
        }
        TrackSummary s = t.summary();
        double truth = p.truth(0).trueCompressibilityPercent;
        string what = thrombus + ": C " + s.compressibilityPercent + " % vs truth " + truth + " %, "
            + Venseg.verdictName(s.verdict);
        check(Math.Abs(s.compressibilityPercent - truth) <= 3, what);
        check(s.framesPushed == 90 && s.framesAnalysed == 45, "90 frames pushed, 45 analysed");
        check(t.frame(-1).frameIndex == 88, "the latest analysed frame is 88");
        int n = t.curve(AreaUnit.PX, null, null, null, null);
        int[] index = new int[n];
        double[] smoothed = new double[n];
        t.curve(AreaUnit.PX, index, null, smoothed, null);
        bool found = false;
        for (int i = 0; i < n; i++)
          if (index[i] == s.minFrame) found = smoothed[i] == s.minAreaPx;
        check(n == 45 && found, "the smoothed curve holds the summary's minimum");
        fails("VENSEG_E_NOT_FOUND", "tracker frame 45", () => t.frame(45));
        vessels(t, s, thrombus.ToString());
        if (exam != null) exam.add(t);
        return s;
      }
    }
  }

  // The tracker's vessels on the phantom's truth masks: the vein of interest first, then the
  // artery, each with its identity and a line of evidence.
  static void vessels(Tracker t, TrackSummary s, string what) {
    int n = t.vesselCount();
    check(n >= 2 && s.vesselCount == n, what + ": " + n + " vessel tracks, the summary says " + s.vesselCount);
    if (n < 2) return;
    Vessel vein = t.vessel(0), artery = t.vessel(1);
    check(vein.identity == (int)VesselIdentity.VEIN && vein.role == 2 && vein.trackId == s.veinTrackId,
          what + ": vessel 0 is the vein of interest, " + Venseg.identityName(vein.identity) + ": " + vein.evidence);
    check(artery.identity == (int)VesselIdentity.ARTERY && artery.role == 1 && artery.trackId == s.arteryTrackId,
          what + ": vessel 1 is the artery, " + Venseg.identityName(artery.identity) + ": " + artery.evidence);
    check(vein.evidence.Length > 0 && artery.evidence.Length > 0 && vein.evidence.Length < 192,
          what + ": each has its evidence line");
    check(vein.identityConfidence >= 0 && vein.identityConfidence <= 1 && vein.framesPresent > 0,
          what + ": identity confidence " + vein.identityConfidence + ", seen in " + vein.framesPresent + " frames");
    check(s.identityConfidence >= 0 && s.identityConfidence <= 1
              && (double.IsNaN(s.verdictConfidence) || s.verdictConfidence >= 0 && s.verdictConfidence <= 1),
          what + ": verdict confidence " + s.verdictConfidence + ", identity confidence " + s.identityConfidence);
    fails("VENSEG_E_NOT_FOUND", "vessel " + n, () => t.vessel(n));
  }

  static void tracker(string trained) {
    using (var tc = new TrackerConfig()) {
      tc.set(TrackerKey.MEDIAL_SIDE, -1);
      check(tc.get(TrackerKey.MEDIAL_SIDE) == -1, "MEDIAL_SIDE -1 (left) round-trips");
      fails("VENSEG_E_INVALID_ARGUMENT", "MEDIAL_SIDE 2", () => tc.set(TrackerKey.MEDIAL_SIDE, 2));
    }
    check(Venseg.identityName((int)VesselIdentity.VEIN) == "VENSEG_IDENTITY_VEIN"
              && Venseg.identityName((int)VesselIdentity.OTHER) == "VENSEG_IDENTITY_OTHER",
          "identity names");
    using (var exam = new Exam(ExamProtocol.TWO_POINT)) {
      TrackSummary normal = trackPhantom(1000, Thrombus.NONE, exam, Venseg.SITE_COMMON_FEMORAL);
      check(normal.verdict == (int)Verdict.COMPRESSIBLE, "normal vein: compressible");
      ExamReport r = exam.report();
      check(r.outcome == (int)ExamOutcome.INCOMPLETE && r.requiredMissing == 1,
            "two-point exam with one site: " + Venseg.examOutcomeName(r.outcome));
      TrackSummary dvt = trackPhantom(1002, Thrombus.FULL, exam, Venseg.SITE_POPLITEAL);
      check(dvt.verdict == (int)Verdict.NON_COMPRESSIBLE, "occlusive thrombus: non-compressible");
      r = exam.report();
      check(r.outcome == (int)ExamOutcome.ABNORMAL && r.siteCount == 2, "exam abnormal");
      ExamSite site = exam.site(1);
      check(site.site == Venseg.SITE_POPLITEAL && site.verdict == dvt.verdict, "exam site 1 is the popliteal one");
    }
    // The model in the loop: pushFrame's mask is the session's own.
    using (var m = new Model(trained))
    using (var s = new Session(m))
    using (var p = new Phantom())
    using (var t = new Tracker()) {
      int w = p.width(), h = p.height();
      byte[] px = new byte[w * h], pushed = new byte[w * h], direct = new byte[w * h];
      for (int i = 0; i < 3; i++) {
        p.frame(i, px, null);
        t.pushFrame(s, px, w, h, pushed);
      }
      s.segment(px, w, h, direct);
      check(pushed.SequenceEqual(direct) && t.summary().framesAnalysed == 3,
            "Tracker.pushFrame segments with the session");
      fails("VENSEG_E_INVALID_ARGUMENT", "pushFrame of another size",
            () => t.pushFrame(s, new byte[64 * 64], 64, 64, null));
    }
  }

  static float[] floats(string path) {
    byte[] b = File.ReadAllBytes(path);
    var a = new float[b.Length / 4];
    for (int i = 0; i < a.Length; i++) a[i] = BitConverter.ToSingle(b, 4 * i); // little-endian files and CPUs
    return a;
  }

  static double maxDiff(float[] a, float[] b) {
    double d = 0;
    for (int i = 0; i < a.Length; i++) d = Math.Max(d, Math.Abs(a[i] - b[i]));
    return d;
  }

  // The experimental classes (venseg_experimental.h) on the tiny model: its layer list in
  // tests/data/README.md, MACs counted by hand from it, the PyTorch golden output.
  static void experimental(string tiny) {
    string dir = Path.GetDirectoryName(Path.GetFullPath(tiny));
    float[] input = floats(Path.Combine(dir, "tiny_plain_unet_input.bin"));
    float[] golden = floats(Path.Combine(dir, "tiny_plain_unet_golden.bin"));
    using (var m = new Model(tiny)) {
      check(Experimental.inputMultiple(m) == 4, "input multiple 4 (plain UNet, depth 2)");
      // enc0 36864 + 147456, enc1 73728 + 147456, enc2 73728 + 147456, up1 32768,
      // dec1 294912 + 147456, up0 32768, dec0 294912 + 147456, head 8192
      check(Experimental.macs(m, 32, 32) == 1585152, "MACs at 32x32: " + Experimental.macs(m, 32, 32));
      var dims = new long[4];
      check(Experimental.tensorCount(m) == 56 && Experimental.tensorName(m, 0) == "enc0.conv1.weight"
                && Experimental.tensorShape(m, 0, dims) == 4 && dims.SequenceEqual(new long[] {4, 1, 3, 3})
                && Experimental.tensorDtype(m, 0) == 0,
            "tensor directory: 56 tensors, enc0.conv1.weight f32 [4,1,3,3]");
      fails("VENSEG_E_NOT_FOUND", "tensor 56", () => Experimental.tensorName(m, 56));
      fails("VENSEG_E_BUFFER_TOO_SMALL", "tensorShape into long[3]", () => Experimental.tensorShape(m, 0, new long[3]));
      using (var o = new Options()) {
        o.set(Option.BACKEND, (long)Backend.REFERENCE);
        using (var s = new Session(m, o)) {
          float[] prob = new float[2 * 32 * 32], logits = new float[2 * 32 * 32];
          Experimental.runTensor(s, input, 1, 1, 32, 32, true, prob);
          near(maxDiff(prob, golden), 0, 1e-4, "runTensor vs the PyTorch golden, max |d|");
          Experimental.runTensor(s, input, 1, 1, 32, 32, false, logits);
          float[] sig = logits.Select(v => (float)(1 / (1 + Math.Exp(-v)))).ToArray();
          near(maxDiff(sig, golden), 0, 1e-4, "sigmoid of the logits (applyActivation false)");
          fails("VENSEG_E_BUFFER_TOO_SMALL", "runTensor output too small",
                () => Experimental.runTensor(s, input, 1, 1, 32, 32, true, new float[32 * 32]));
        }
      }
      var cal = new ExperimentalCalibration(m);
      using (cal) {
        cal.addTensor(input, 1, 32, 32);
        double maxIn = 0;
        for (int k = 0; k < 1024; k++) maxIn = Math.Max(maxIn, Math.Abs((float)Math.Sin(0.1 * k)));
        // input + one entry per convolution (13 in the layer list)
        check(cal.count() == 14 && cal.entryName(0) == "input" && cal.entryName(1) == "enc0.conv1.weight",
              "calibration: 14 entries, input then enc0.conv1.weight");
        near(cal.entryMaxAbs(0), maxIn, 1e-6, "calibration: largest |input|");
        fails("VENSEG_E_NOT_FOUND", "calibration entry 14", () => cal.entryName(14));
        fails("VENSEG_E_BUFFER_TOO_SMALL", "addTensor of 2 channels from 1024 floats",
              () => cal.addTensor(input, 2, 32, 32));
        using (var o = new Options()) {
          o.set(Option.PRECISION, (long)Precision.INT8);
          try {
            using (var s = Experimental.calibratedSession(m, o, cal)) {
              float[] prob = new float[2 * 32 * 32];
              Experimental.runTensor(s, input, 1, 1, 32, 32, true, prob);
              check(s.get(Option.PRECISION) == (long)Precision.INT8, "calibrated session: " + s.describe());
              near(maxDiff(prob, golden), 0, 0.02, "int8 runTensor vs the fp32 golden, max |d|");
            }
          } catch (VensegException e) { // int8 needs the oneDNN backend
            check(e.getStatusName() == "VENSEG_E_UNSUPPORTED", "int8 without oneDNN: " + e.Message);
          }
        }
        fails("VENSEG_E_INVALID_ARGUMENT", "calibratedSession without a calibration",
              () => Experimental.calibratedSession(m, null, null));
      }
      fails("VENSEG_E_BAD_STATE", "a disposed calibration", () => cal.count());
    }
  }

  static int Main(string[] args) {
    check(Venseg.versionString() == Venseg.VERSION_STRING, "version " + Venseg.versionString());
    model(args[0]);
    session(args[1]);
    metrics();
    tracker(args[1]);
    experimental(args[0]);
    Console.WriteLine(failures == 0 ? "all passed" : failures + " FAILED");
    return failures == 0 ? 0 : 1;
  }
}
