package io.github.neuronexplainer.core.records;

import java.math.BigDecimal;
import java.math.MathContext;
import java.math.RoundingMode;

/**
 * Shortest round-trip float formatting as written by Python ({@code repr}, {@code json.dumps}) and
 * by orjson (ryu). Java 17's {@code Double.toString} is not always shortest (e.g. {@code
 * 4.9E-324}), so the digits are computed here. Stateless and thread-safe.
 */
public final class FloatFormat {
  private FloatFormat() {}

  /**
   * Shortest decimal digits {@code d1 d2 ... dn} and exponent {@code e} with value {@code 0.d1..dn
   * * 10^e}.
   */
  private record Digits(String digits, int pointPosition) {}

  private static Digits shortestDigits(double value) {
    double abs = Math.abs(value);
    BigDecimal exact = new BigDecimal(abs);
    for (int precision = 1; precision <= 17; precision++) {
      BigDecimal rounded = exact.round(new MathContext(precision, RoundingMode.HALF_EVEN));
      if (rounded.doubleValue() == abs) {
        return toDigits(rounded);
      }
    }
    return toDigits(exact.round(new MathContext(17, RoundingMode.HALF_EVEN)));
  }

  private static Digits toDigits(BigDecimal rounded) {
    BigDecimal stripped = rounded.stripTrailingZeros();
    String unscaled = stripped.unscaledValue().toString();
    // value = unscaled * 10^-scale = 0.unscaled * 10^(len - scale)
    return new Digits(unscaled, unscaled.length() - stripped.scale());
  }

  /**
   * Python {@code repr(float)}: {@code 1e-05}, {@code 0.0001}, {@code 1e+16}, {@code 3.0}, {@code
   * nan}.
   */
  public static String pythonRepr(double value) {
    if (Double.isNaN(value)) {
      return "nan";
    }
    if (Double.isInfinite(value)) {
      return value > 0 ? "inf" : "-inf";
    }
    if (value == 0.0) {
      return (1 / value < 0) ? "-0.0" : "0.0";
    }
    Digits d = shortestDigits(value);
    int exponent = d.pointPosition() - 1;
    String sign = value < 0 ? "-" : "";
    if (exponent < -4 || exponent >= 16) {
      return sign
          + scientific(d.digits())
          + "e"
          + (exponent < 0 ? "-" : "+")
          + (Math.abs(exponent) < 10 ? "0" : "")
          + Math.abs(exponent);
    }
    return sign + fixed(d);
  }

  /**
   * orjson (ryu) float text: {@code 0.00001}, {@code 1e-6}, {@code 1e16}, {@code 100.0}; non-finite
   * is {@code null}.
   */
  public static String orjson(double value) {
    if (!Double.isFinite(value)) {
      return "null";
    }
    if (value == 0.0) {
      return (1 / value < 0) ? "-0.0" : "0.0";
    }
    Digits d = shortestDigits(value);
    int kk = d.pointPosition();
    String sign = value < 0 ? "-" : "";
    if (kk > -5 && kk <= 16) {
      return sign + fixed(d);
    }
    return sign + scientific(d.digits()) + "e" + (kk - 1);
  }

  private static String scientific(String digits) {
    return digits.length() == 1 ? digits : digits.charAt(0) + "." + digits.substring(1);
  }

  private static String fixed(Digits d) {
    String digits = d.digits();
    int point = d.pointPosition();
    if (point <= 0) {
      return "0." + "0".repeat(-point) + digits;
    }
    if (point >= digits.length()) {
      return digits + "0".repeat(point - digits.length()) + ".0";
    }
    return digits.substring(0, point) + "." + digits.substring(point);
  }
}
