// Segments one B-mode image with libvenseg's C# binding and prints each class's area.
//   mcs -r:DIR/venseg.dll -r:System.Drawing.dll SegmentImage.cs && mono SegmentImage.exe model.vseg image.png
// DIR: build/<preset>/bindings/swig/csharp (venseg.dll, libvenseg_csharp.so; put the .exe there or
// DIR on LD_LIBRARY_PATH). PNG decoding: System.Drawing (mono: libgdiplus); any decoder giving bytes works.
using System;
using System.Drawing;
using LibVenseg;

class SegmentImage {
  static void Main(string[] args) {
    using (var png = new Bitmap(args[1]))
    using (var model = new Model(args[0]))
    using (var session = new Session(model)) {
      int w = png.Width, h = png.Height;
      byte[] gray = new byte[w * h], mask = new byte[w * h];
      for (int i = 0; i < w * h; i++) { // BT.601 luma: a grey image's own values
        Color p = png.GetPixel(i % w, i / w);
        gray[i] = (byte)((299 * p.R + 587 * p.G + 114 * p.B + 500) / 1000);
      }
      session.segment(gray, w, h, mask);
      Console.WriteLine("{0}: {1}x{2} px, {3}", args[1], w, h, session.describe());
      for (int c = 1; c <= model.numClasses(); c++) {
        int area = 0;
        foreach (byte v in mask) area += v == c ? 1 : 0;
        Console.WriteLine("class {0} {1,-8} {2,7} px", c, model.className(c - 1), area);
      }
    }
  }
}
