package libvenseg;

/** A failed libvenseg call: the venseg_status, its name and venseg_last_error()'s detail. */
public class VensegException extends RuntimeException {
  private final int status;
  private final String statusName;
  private final String detail;

  public VensegException(int status, String statusName, String detail) {
    super(statusName + ": " + detail);
    this.status = status;
    this.statusName = statusName;
    this.detail = detail;
  }

  /** The venseg_status value (Status.swigToEnum(getStatus()) gives the enum). */
  public int getStatus() { return status; }

  /** "VENSEG_E_IO", "VENSEG_E_INVALID_ARGUMENT", ... */
  public String getStatusName() { return statusName; }

  /** The library's detail message. */
  public String getDetail() { return detail; }
}
