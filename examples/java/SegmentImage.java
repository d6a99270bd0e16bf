// Segments one B-mode image with libvenseg's Java binding and prints each class's area.
//   java -Djava.library.path=DIR -cp DIR/venseg.jar SegmentImage.java model.vseg image.png
// DIR: build/<preset>/bindings/swig/java (venseg.jar, libvenseg_java.so); cmake -DVENSEG_BUILD_SWIG=ON.
import java.awt.image.Raster;
import java.io.File;
import javax.imageio.ImageIO;
import libvenseg.*;

public class SegmentImage {
  public static void main(String[] args) throws Exception {
    Raster png = ImageIO.read(new File(args[1])).getRaster(); // ImageIO decodes the PNG
    int w = png.getWidth(), h = png.getHeight();
    byte[] gray = new byte[w * h], mask = new byte[w * h];
    for (int i = 0; i < w * h; i++) { // 8-bit grey as stored; colour -> BT.601 luma
      int x = i % w, y = i / w;
      gray[i] = (byte) (png.getNumBands() < 3 ? png.getSample(x, y, 0)
          : (299 * png.getSample(x, y, 0) + 587 * png.getSample(x, y, 1) + 114 * png.getSample(x, y, 2) + 500) / 1000);
    }
    try (Model model = new Model(args[0]); Session session = new Session(model)) {
      session.segment(gray, w, h, mask);
      System.out.println(args[1] + ": " + w + "x" + h + " px, " + session.describe());
      for (int c = 1; c <= model.numClasses(); c++) {
        int area = 0;
        for (byte v : mask) area += v == c ? 1 : 0;
        System.out.printf("class %d %-8s %7d px%n", c, model.className(c - 1), area);
      }
    }
  }
}
