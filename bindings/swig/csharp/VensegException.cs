namespace LibVenseg {

/// <summary>A failed libvenseg call: the venseg_status, its name and venseg_last_error()'s detail.
/// The methods are named as in Java.</summary>
public class VensegException : global::System.Exception {
  private readonly int status;
  private readonly string statusName;
  private readonly string detail;

  public VensegException(int status, string statusName, string detail)
      : base(statusName + ": " + detail) {
    this.status = status;
    this.statusName = statusName;
    this.detail = detail;
  }

  /// <summary>The venseg_status value ((Status)getStatus() gives the enum).</summary>
  public int getStatus() { return status; }

  /// <summary>"VENSEG_E_IO", "VENSEG_E_INVALID_ARGUMENT", ...</summary>
  public string getStatusName() { return statusName; }

  /// <summary>The library's detail message.</summary>
  public string getDetail() { return detail; }
}

}
